// The approvals gate, pure: which approval (if any) lets this deploy of this commit go out now, and why the
// others do not (not signed by a dashboard's published key, another commit, expired, used, not this person's).
import type { Approval, ApprovalRecords, ApprovalRequest, Review, Standing } from './approvals.js';
import { person, verify } from './approvals.js';

export interface Judged {
  readonly approval?: Approval;
  /** Why each approval of the environment does not release this deploy. */
  readonly refused: readonly string[];
}

/** The approval of `env` that releases `commit` for `user` at `now`, or why none does. */
export function judgeApproval(records: ApprovalRecords, env: string, commit: string, user: string, now: Date): Judged {
  const refused: string[] = [];
  const used = new Set(records.used.map((u) => u.request));
  for (const a of records.approvals.filter((x) => x.env === env)) {
    const why = whyNot(a, records, commit, user, now, used);
    if (!why) return { approval: a, refused };
    refused.push(`approval of ${a.request}: ${why}`);
  }
  return { refused };
}

function whyNot(
  a: Approval,
  records: ApprovalRecords,
  commit: string,
  user: string,
  now: Date,
  used: ReadonlySet<string>,
): string | undefined {
  if (!verify(a, records.keys)) return 'its signature is missing or not by a dashboard key: refused';
  const request = records.requests.find((r) => r.id === a.request);
  if (!request || request.env !== a.env || request.commit !== a.commit) return 'it matches no request: refused';
  if (a.commit !== commit) return `it is for commit ${a.commit.slice(0, 12)} (${a.version}), not this one`;
  if (used.has(a.request)) return 'a deploy has already used it';
  if (!(Date.parse(a.expiresAt) > now.getTime())) return `it expired at ${a.expiresAt}`;
  const who = person(user);
  if (who !== person(a.requester) && who !== person(a.approver))
    return `only ${person(a.requester)} (who asked) or ${person(a.approver)} (who approved) may start it`;
  return undefined;
}

/** The request `id`, with its approval (a valid one only) and whether a deploy used it. */
export function requestState(
  records: ApprovalRecords,
  request: ApprovalRequest,
  now: Date,
): { state: 'pending' | 'approved' | 'expired' | 'used'; approval?: Approval } {
  const approval = records.approvals.find((a) => a.request === request.id && verify(a, records.keys));
  if (records.used.some((u) => u.request === request.id)) return { state: 'used', approval };
  if (!approval) return { state: 'pending' };
  return { state: Date.parse(approval.expiresAt) > now.getTime() ? 'approved' : 'expired', approval };
}

/** The valid standing approval of a schedule entry as it is now written. */
export function standingFor(records: ApprovalRecords, schedule: string, hash: string): Standing | undefined {
  return records.standing.find((s) => s.schedule === schedule && s.entryHash === hash && verify(s, records.keys));
}

/** Emergency reviews nobody signed yet (a sign-off counts only with a valid signature). */
export function unsignedReviews(records: ApprovalRecords): Review[] {
  const signed = new Set(records.signOffs.filter((s) => verify(s, records.keys)).map((s) => s.review));
  return records.reviews.filter((r) => !signed.has(r.id));
}

/** Whether `name` is one of `from`: a user named there, or a member of a group named there. */
export function mayApprove(
  name: string,
  from: readonly string[],
  groups: Readonly<Record<string, readonly string[]>>,
): boolean {
  const who = person(name);
  return from.some((f) => f === who || (groups[f] ?? []).includes(who));
}
