// Approvals, for both doors: ask for a deploy (`deploy request`, the dashboard's deploy button), approve it (the
// dashboard and its API, signed with the dashboard's key), sign an emergency's review, give a schedule its
// standing approval, and list them all. The records live on refs/relink/approvals of the app's repository.
import crypto from 'node:crypto';
import { durationMs } from '../config/schema-approvals.js';
import { environmentSettings, findConfigFile, loadUserConfig } from '../config/load.js';
import { GateError, UsageError } from '../errors.js';
import { named } from '../gates/schedule.js';
import { json, keyPath, recordPath, writeApprovals, fetchApprovals } from '../gates/approval-store.js';
import { judgeApproval, mayApprove, requestState, standingFor, unsignedReviews } from '../gates/approval-gate.js';
import {
  type Approval,
  type ApprovalRecords,
  type ApprovalRequest,
  entryHash,
  newId,
  person,
  type SignOff,
  type SigningKey,
  type Standing,
  sign,
} from '../gates/approvals.js';
import { nextStep, said } from '../next.js';
import type { GitRecords } from '../transport/git.js';
import { dashboardKey } from './approval-key.js';
import { projectRepo, resolveCommit } from './repo.js';
import type { ApprovalsJson } from './shapes/approvals.js';

export type { Approval, ApprovalRequest, SignOff, Standing };

/** The approval rules of one environment (none: it needs no approval) and the groups of `people`. */
export async function approvalRules(configPath: string | undefined, env: string) {
  const file = findConfigFile(process.cwd(), configPath);
  const user = await loadUserConfig(file);
  const approvals = environmentSettings(user, env).approvals;
  return { approvals, groups: user.people?.groups ?? {}, schedule: named(user.schedule ?? []) };
}

/** The repository, fetched (a request or an approval must be shared, so offline is an error later). */
async function repo(configPath: string | undefined): Promise<GitRecords> {
  const { mirror, git } = await projectRepo(configPath);
  await mirror.sync();
  return git;
}

/** `deploy request <env> <version>`: a request bound to the version's commit. */
export async function requestDeploy(o: {
  env: string;
  version: string;
  requester: string;
  config?: string;
}): Promise<ApprovalRequest> {
  const { approvals } = await approvalRules(o.config, o.env);
  if (!approvals)
    throw new UsageError(`${o.env} needs no approval: deploy it`, {
      hint: said`${nextStep('deploy', o.env, undefined, [o.version])}`,
    });
  const git = await repo(o.config);
  const commit = await resolveCommit(git, o.version);
  const requestedAt = new Date().toISOString();
  const request = {
    id: newId('a', `${o.env}\0${commit}\0${requestedAt}`),
    env: o.env,
    version: o.version,
    commit,
    requester: o.requester,
    requestedAt,
  };
  const files = new Map([[recordPath('requests', request.id), json(request)]]);
  return writeApprovals(git, () => ({ files, result: request }), `request ${o.env} ${o.version} (${request.id})`);
}

/** A person's part of a record's file name (names may hold characters a path should not). */
function personKey(name: string): string {
  return crypto.createHash('sha256').update(person(name)).digest('hex').slice(0, 12);
}

/** A signed record's files: the record and the key that verifies it. */
function signedFiles(key: SigningKey, path: string, record: object): Map<string, string> {
  return new Map([
    [path, json(record)],
    [keyPath(key.id), key.publicPem],
  ]);
}

/** Approves request `id` as `approver`, signed with the dashboard's key (kept in `keyDir`). */
export async function approveRequest(o: {
  id: string;
  approver: string;
  keyDir: string;
  config?: string;
  now?: () => Date;
}): Promise<Approval> {
  const git = await repo(o.config);
  const key = dashboardKey(o.keyDir);
  const now = o.now ?? (() => new Date());
  const found = (await fetchApprovals(git)).requests.find((r) => r.id === o.id);
  if (!found) throw new UsageError(`no approval request "${o.id}"`, { hint: 'the approvals page lists them' });
  const { approvals, groups } = await approvalRules(o.config, found.env);
  if (!approvals) throw new UsageError(`${found.env} needs no approval`);
  if (person(o.approver) === person(found.requester))
    throw new GateError(`${person(o.approver)} asked for ${o.id}: someone else must approve it`, {
      hint: `one of ${approvals.from.join(', ')} approves it on the dashboard`,
    });
  if (!mayApprove(o.approver, approvals.from, groups))
    throw new GateError(`${person(o.approver)} may not approve deploys to ${found.env}`, {
      hint: `approvals.from of ${found.env} names who may: ${approvals.from.join(', ')}`,
    });
  return writeApprovals(
    git,
    (current) => {
      const { state, approvers } = requestState(current, found, now(), approvals.required);
      if (state !== 'pending') throw new UsageError(`${o.id} is ${state} already`);
      if (approvers.includes(person(o.approver))) {
        const more = approvals.required - approvers.length;
        throw new UsageError(`${person(o.approver)} approved ${o.id} already`, {
          hint: `it needs ${more} more, by someone else of ${approvals.from.join(', ')}`,
        });
      }
      const at = now();
      const fields = {
        request: found.id,
        env: found.env,
        version: found.version,
        commit: found.commit,
        requester: found.requester,
        approver: o.approver,
        approvedAt: at.toISOString(),
        expiresAt: new Date(at.getTime() + durationMs(approvals.expiresAfter)).toISOString(),
      };
      const approval = sign(fields, key);
      // One record per approver: an environment may need more than one (approvals.required).
      const file = recordPath('approvals', `${found.id}-${personKey(o.approver)}`);
      return { files: signedFiles(key, file, approval), result: approval };
    },
    `approve ${found.id}: ${found.env} ${found.version} by ${person(o.approver)}`,
  );
}

/** Signs the review of an emergency release. */
export async function signReview(o: { id: string; signer: string; keyDir: string; config?: string }) {
  const git = await repo(o.config);
  const key = dashboardKey(o.keyDir);
  const review = (await fetchApprovals(git)).reviews.find((r) => r.id === o.id);
  if (!review) throw new UsageError(`no review "${o.id}"`, { hint: 'the approvals page lists them' });
  if (person(o.signer) === person(review.deployer))
    throw new GateError(`${person(o.signer)} made that emergency release: someone else signs its review`);
  const signOff: SignOff = sign({ review: review.id, signer: o.signer, at: new Date().toISOString() }, key);
  const files = signedFiles(key, recordPath('signOffs', review.id), signOff);
  return writeApprovals(git, () => ({ files, result: signOff }), `sign review ${review.id}`);
}

/** Gives schedule entry `name` a standing approval, bound to the entry as written now. */
export async function giveStanding(o: { name: string; approver: string; keyDir: string; config?: string }) {
  const git = await repo(o.config);
  const key = dashboardKey(o.keyDir);
  const entry = (await approvalRules(o.config, '')).schedule.find((e) => e.name === o.name);
  if (!entry) throw new UsageError(`no schedule entry "${o.name}"`, { hint: 'the approvals page lists them' });
  const { approvals, groups } = await approvalRules(o.config, entry.env);
  if (!approvals) throw new UsageError(`${entry.env} needs no approval`);
  if (!mayApprove(o.approver, approvals.from, groups))
    throw new GateError(`${person(o.approver)} may not approve deploys to ${entry.env}`);
  const hash = entryHash(entry);
  const fields = { schedule: entry.name, env: entry.env, entryHash: hash, approver: o.approver };
  const standing: Standing = sign({ ...fields, approvedAt: new Date().toISOString() }, key);
  const files = signedFiles(key, recordPath('standing', `${entry.name}-${hash.slice(0, 12)}`), standing);
  return writeApprovals(git, () => ({ files, result: standing }), `standing approval of schedule ${entry.name}`);
}

/** Every request with its state, the emergency reviews still to sign, and the schedules' standing approvals. */
export async function listApprovals(configPath: string | undefined, now = new Date()): Promise<ApprovalsJson> {
  const git = await repo(configPath);
  const records: ApprovalRecords = await fetchApprovals(git);
  const required = new Map<string, number>();
  for (const env of new Set(records.requests.map((r) => r.env)))
    required.set(env, (await approvalRules(configPath, env)).approvals?.required ?? 1);
  const requests = records.requests
    .map((r) => {
      const { state, approval, approvers } = requestState(records, r, now, required.get(r.env));
      const approved =
        approval && approvers.length ? { approver: approvers.join(', '), expiresAt: approval.expiresAt } : {};
      return { ...r, state, ...approved };
    })
    .sort((a, b) => b.requestedAt.localeCompare(a.requestedAt));
  const { schedule } = await approvalRules(configPath, '');
  const schedules = schedule.map((e) => {
    const standing = standingFor(records, e.name, entryHash(e));
    return { name: e.name, env: e.env, version: e.version, ...(standing ? { approver: standing.approver } : {}) };
  });
  return { requests, reviews: unsignedReviews(records), schedules };
}

/** Whether a deploy of `version` to `env` by `who` needs a request first (no approval releases it now). */
export async function needsRequest(o: { env: string; version: string; who: string; config?: string }) {
  const { approvals } = await approvalRules(o.config, o.env);
  if (!approvals) return false;
  const git = await repo(o.config);
  const commit = await resolveCommit(git, o.version);
  return !judgeApproval(await fetchApprovals(git), o.env, commit, o.who, new Date(), approvals.required).approval;
}
