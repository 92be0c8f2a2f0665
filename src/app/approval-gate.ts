// The approvals gate of a deploy, before its run opens on the nodes: in an environment with `approvals` a deploy
// goes out only with a valid signed approval of its exact commit (which it then uses up), a schedule's standing
// approval, or as an emergency, which leaves a review after the fact.
import { loadUserConfig } from '../config/load.js';
import { GateError, UsageError } from '../errors.js';
import { fetchApprovals, json, recordPath, writeApprovals } from '../gates/approval-store.js';
import { judgeApproval, standingFor } from '../gates/approval-gate.js';
import { entryHash, newId, person } from '../gates/approvals.js';
import { named } from '../gates/schedule.js';
import { nextStep, said } from '../next.js';
import type { GateRequest } from '../pipeline/phases/gates.js';
import { GitRecords } from '../transport/git.js';
import type { OpenRun } from './compose.js';
import { openMirror, resolveCommit } from './repo.js';

export type Approved = GateRequest['approved'];

export async function passApprovals(
  run: OpenRun,
  ask: { readonly version: string; readonly emergency?: boolean; readonly reason?: string },
): Promise<Approved> {
  const rules = run.config.approvals;
  if (!rules) return undefined;
  const { env } = run.config;
  const mirror = openMirror(run.stateDir, run.config.repo);
  await mirror.sync();
  const git = new GitRecords(mirror);
  const commit = await resolveCommit(git, ask.version);
  const warn = (message: string) => run.deps.reporter.emit({ type: 'warn', message });
  if (ask.emergency) {
    if (!ask.reason) throw new UsageError('--emergency needs --reason "why it cannot wait for an approval"');
    const at = new Date().toISOString();
    const review = {
      id: newId('r', `${env}\0${commit}\0${at}`),
      run: run.runId,
      env,
      version: ask.version,
      commit,
      deployer: run.user,
      reason: ask.reason,
      at,
    };
    const files = new Map([[recordPath('reviews', review.id), json(review)]]);
    try {
      await writeApprovals(git, () => ({ files, result: review }), `emergency ${env} ${ask.version}: review`);
      warn(`emergency release past the approvals of ${env}: review ${review.id} waits on the dashboard until signed`);
    } catch (error) {
      warn(`emergency release past the approvals of ${env}; its review could not be recorded: ${String(error)}`);
    }
    return { review: review.id, requester: run.user };
  }
  const records = await fetchApprovals(git);
  if (run.user.startsWith('schedule:')) return scheduled(run, records, env);
  const judged = judgeApproval(records, env, commit, run.user, new Date(), rules.required);
  if (!judged.approval) {
    const why = judged.refused.length ? `:\n${judged.refused.map((r) => `  ${r}`).join('\n')}` : '';
    const ask1 = nextStep('request', env, undefined, [ask.version]);
    throw new GateError(`${env} needs an approval to deploy ${ask.version} (${commit.slice(0, 12)})${why}`, {
      hint: said`ask for one: ${ask1}; someone of ${rules.from.join(', ')} approves it on the dashboard`,
    });
  }
  const a = judged.approval;
  const used = { request: a.request, run: run.runId, by: run.user, at: new Date().toISOString() };
  await writeApprovals(
    git,
    (current) => {
      if (current.used.some((u) => u.request === a.request))
        throw new GateError(`the approval of ${a.request} was used by another deploy meanwhile`);
      return { files: new Map([[recordPath('used', a.request), json(used)]]), result: used };
    },
    `deploy ${env} ${ask.version} uses ${a.request}`,
  );
  return { approval: a.request, requester: person(a.requester), approver: (judged.approvers ?? []).join(', ') };
}

/** A schedule's deploy: its standing approval, given for the entry as it is written now. */
async function scheduled(
  run: OpenRun,
  records: Awaited<ReturnType<typeof fetchApprovals>>,
  env: string,
): Promise<Approved> {
  const name = run.user.slice('schedule:'.length);
  const user = await loadUserConfig(run.config.configFile);
  const entry = named(user.schedule ?? []).find((e) => e.name === name && e.env === env);
  const standing = entry ? standingFor(records, name, entryHash(entry)) : undefined;
  if (!standing)
    throw new GateError(`schedule ${name} has no standing approval for ${env} (or its entry changed since)`, {
      hint: 'someone who may approve gives it on the approvals page of the dashboard',
    });
  return { approval: `schedule:${name}`, requester: run.user, approver: person(standing.approver) };
}
