// The dashboard's actions: each opens its run with the operations' composition root (openRun) and calls
// the same operation as its verb (deploy, rollback, freeze, unfreeze, poison records, src/app/), so every
// gate, lock, journal line and report is the CLI's; `who` (web:<user>) is the run's user.
import { setMaxListeners } from 'node:events';
import { type OpenRun, openRun } from '../app/compose.js';
import { previewRollback, planRelease, release, releaseBranches, resultOf, rollBack } from '../app/deploy.js';
import { freezeEnv, unfreezeEnv } from '../app/freeze.js';
import { phrase } from '../app/phrase.js';
import { cureRecord, poisonCommit, resolveCommit } from '../app/poison.js';
import { errorMessage, RelinkError, UsageError } from '../errors.js';
import { processRedactor } from '../log/redact.js';
import { approvalActions } from './approval-actions.js';
import type { FileRuns, WebRun } from './runs.js';
import type { NodeSource } from './source.js';
import type { Actions, BranchesForm, DeployForm, RollbackForm, RollbackTarget } from './types.js';

/** The message and hint of a failure, as the CLI would print them, redacted. */
export function describeFailure(error: unknown): string {
  const hint = error instanceof RelinkError && error.hint ? `\nhint: ${phrase(error.hint)}` : '';
  return processRedactor.apply(`${errorMessage(error)}${hint}`);
}

export function nodeActions(
  source: NodeSource,
  runs: FileRuns,
  configPath: string | undefined,
  keyDir: string,
): Actions {
  const quietRun = (env: string, who: string, command: string) =>
    openRun({ env, config: configPath, author: who, command, quiet: true, runLog: false });

  /** Starts a locked run in the background; the page follows it by its id. */
  async function start(
    env: string,
    who: string,
    command: string,
    work: (run: OpenRun, signal: AbortSignal) => Promise<unknown>,
  ): Promise<string> {
    const run = await openRun({ env, config: configPath, author: who, command, quiet: true });
    const stop = new AbortController();
    const signal = run.deps.signal ? AbortSignal.any([run.deps.signal, stop.signal]) : stop.signal;
    setMaxListeners(0, signal); // one listener per command under way, as the CLI's (app/compose.ts)
    const mine: WebRun = { run: run.runId, env, command, user: who, started: new Date().toISOString(), stop };
    runs.web.set(run.runId, mine);
    process.stdout.write(`${processRedactor.apply(`${who} started ${command} (run ${run.runId})`)}\n`);
    work(run, signal)
      .then((value) => {
        // A deploy that set nodes aside (rollout.maxFailures) released, but not everywhere.
        const aside = (value as { setAside?: readonly unknown[] } | undefined)?.setAside?.length;
        mine.done = { result: aside ? 'partial' : 'success' };
      })
      .catch((error: unknown) => {
        mine.done = { result: resultOf(error), error: describeFailure(error) };
      })
      .finally(async () => {
        await run.close();
        source.invalidate(env);
        process.stdout.write(`run ${run.runId} (${command}): ${mine.done?.result ?? 'ended'}\n`);
      });
    return run.runId;
  }

  /** An operation that changes an environment: what was read of it is forgotten after. */
  async function changing<T>(env: string, work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } finally {
      source.invalidate(env);
    }
  }

  const actions: Actions = {
    ...approvalActions(
      configPath,
      keyDir,
      (env, form, who) => actions.deploy(env, form, who),
      (env) => source.invalidate(env),
    ),
    async planDeploy(env, version, who) {
      const run = await quietRun(env, who, 'plan');
      try {
        return await planRelease(run, { version });
      } finally {
        await run.close();
      }
    },

    async deploy(env, form: DeployForm, who) {
      if (!form.version) throw new UsageError('choose a version to deploy');
      const ask = {
        version: form.version,
        allowPoison: form.allowPoison?.length ? form.allowPoison : undefined,
        emergency: form.emergency,
        skipAnalysis: form.skipAnalysis,
        reason: form.reason || undefined,
      };
      return start(env, who, `deploy ${env} ${form.version}`, (run, signal) => release(run, ask, signal));
    },

    async deployBranches(env, form: BranchesForm, who) {
      if (form.branches.length === 0) throw new UsageError('tick at least one branch to deploy');
      const { branches, base } = form;
      // A conflict or a tags-only environment ends the run before it builds; its page says which.
      const ask = { branches, base: base || undefined };
      const command = `deploy ${env} --branches ${branches.join(',')}${ask.base ? ` --base ${ask.base}` : ''}`;
      return start(env, who, command, (run, signal) => releaseBranches(run, ask, signal));
    },

    previewRollback(env, target: RollbackTarget) {
      return changing(env, () =>
        previewRollback({ env, config: configPath, author: 'web', command: 'rollback preview' }, target),
      );
    },

    async rollback(env, form: RollbackForm, who) {
      const spec = form.target.kind === 'last' ? '--last' : `--to ${form.target.spec}`;
      const ask = {
        target: form.target,
        emergency: form.emergency,
        force: form.force,
        reason: form.reason || undefined,
        allowPoison: form.allowPoison?.length ? form.allowPoison : undefined,
      };
      const command = `rollback ${env} ${spec}${form.emergency ? ' --emergency' : ''}`;
      return start(env, who, command, (run, signal) => rollBack(run, ask, signal));
    },

    async freeze(env, message, who) {
      if (!message.trim()) throw new UsageError('say why deploys are frozen');
      return changing(env, async () => (await freezeEnv({ env, config: configPath, author: who, message })).run);
    },

    async unfreeze(env, runId, who) {
      const command = `unlock ${env} --run ${runId}`;
      const o = { env, config: configPath, author: who, command, run: runId, force: false };
      return changing(env, async () => (await unfreezeEnv(o)).released);
    },

    async describeCommit(rev) {
      const { git, mirror } = await source.repo();
      const commit = await resolveCommit(git, rev);
      return { commit, subject: await mirror.subject(commit) };
    },

    async poison(rev, message, ticket, who) {
      if (!message.trim()) throw new UsageError('say what the bug is');
      const { commit } = await this.describeCommit(rev);
      const { git } = await source.repo();
      const record = await poisonCommit(git, commit, { comment: message, ticket, who });
      await source.gate(true);
      return record;
    },

    async cure(id, fix, who) {
      const { git } = await source.repo();
      const { commit } = await this.describeCommit(fix);
      const current = (await source.gate(true)).records.find((r) => r.id === id);
      if (!current) throw new UsageError(`no poison record "${id}"`, { hint: 'the release gate page lists them' });
      const record = await cureRecord(git, current, commit, who);
      await source.gate(true);
      return record;
    },

    stop(runId) {
      const mine = runs.web.get(runId);
      if (!mine || mine.done) return false;
      mine.stop.abort('a stop from the dashboard');
      return true;
    },
  };
  return actions;
}
