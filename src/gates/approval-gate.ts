// The approvals gate, pure: which approval (if any) lets this deploy of this commit go out now, and why the
// others do not (not signed by a dashboard's published key, another commit, expired, used, not this person's).
import type { Approval, ApprovalRecords, ApprovalRequest, Review, Standing } from './approvals.js';
import { person, verify } from './approvals.js';

export interface Judged {
  /** The first of the approvals that release it (their request, commit, expiry). */
  readonly approval?: Approval;
  /** Everyone who approved it, by person. */
  readonly approvers?: readonly string[];
  /** Why each approval of the environment does not release this deploy. */
  readonly refused: readonly string[];
}

/**
 * The approvals of `env` that release `commit` for `user` at `now`, or why none do: a request needs `required`
 * valid approvals by as many people (none of them who asked), and only who asked or who approved may start it.
 */
export function judgeApproval(
  records: ApprovalRecords,
  env: string,
  commit: string,
  user: string,
  now: Date,
  required = 1,
): Judged {
  const refused: string[] = [];
  const used = new Set(records.used.map((u) => u.request));
  const valid = new Map<string, Approval[]>();
  for (const a of records.approvals.filter((x) => x.env === env)) {
    const why = whyNot(a, records, commit, now, used);
    if (why) refused.push(`approval of ${a.request}: ${why}`);
    else valid.set(a.request, [...(valid.get(a.request) ?? []), a]);
  }
  for (const [request, approvals] of valid) {
    const approvers = [...new Set(approvals.map((a) => person(a.approver)))];
    if (approvers.length < required) {
      refused.push(`approval of ${request}: ${approvers.length} of the ${required} approvals it needs so far`);
      continue;
    }
    const requester = person(approvals[0]!.requester);
    const who = person(user);
    if (who !== requester && !approvers.includes(who)) {
      refused.push(
        `approval of ${request}: only ${requester} (who asked) or ${approvers.join(', ')} (who approved) may start it`,
      );
      continue;
    }
    return { approval: approvals[0], approvers, refused };
  }
  return { refused };
}

function whyNot(
  a: Approval,
  records: ApprovalRecords,
  commit: string,
  now: Date,
  used: ReadonlySet<string>,
): string | undefined {
  if (!verify(a, records.keys)) return 'its signature is missing or not by a dashboard key: refused';
  const request = records.requests.find((r) => r.id === a.request);
  if (!request || request.env !== a.env || request.commit !== a.commit) return 'it matches no request: refused';
  if (person(a.approver) === person(request.requester)) return 'it is by who asked: refused';
  if (a.commit !== commit) return `it is for commit ${a.commit.slice(0, 12)} (${a.version}), not this one`;
  if (used.has(a.request)) return 'a deploy has already used it';
  if (!(Date.parse(a.expiresAt) > now.getTime())) return `it expired at ${a.expiresAt}`;
  return undefined;
}

/** The request, with its valid approvals and whether a deploy used it: approved once `required` people did. */
export function requestState(
  records: ApprovalRecords,
  request: ApprovalRequest,
  now: Date,
  required = 1,
): { state: 'pending' | 'approved' | 'expired' | 'used'; approval?: Approval; approvers: string[] } {
  const signed = records.approvals.filter(
    (a) => a.request === request.id && verify(a, records.keys) && person(a.approver) !== person(request.requester),
  );
  const live = signed.filter((a) => Date.parse(a.expiresAt) > now.getTime());
  const approvers = [...new Set(live.map((a) => person(a.approver)))];
  const approval = live[0] ?? signed[0];
  if (records.used.some((u) => u.request === request.id))
    return { state: 'used', approval, approvers: [...new Set(signed.map((a) => person(a.approver)))] };
  if (approvers.length >= required) return { state: 'approved', approval, approvers };
  return { state: signed.length > live.length && live.length === 0 ? 'expired' : 'pending', approval, approvers };
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
