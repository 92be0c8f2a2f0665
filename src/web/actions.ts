// The dashboard's actions: each builds its run with the CLI's composition root (openRun) and calls the
// same engine entry point as its verb (deploy, rollback, freeze, unfreeze, poison records), so every
// gate, lock, journal line and report is the CLI's; `who` (web:<user>) is the run's user.
import { openRun, type OpenRun } from '../cli/compose.js';
import { errorMessage, RelinkError, UsageError } from '../errors.js';
import { newPoisonId, writeRecord } from '../gates/poison.js';
import { processRedactor } from '../log/redact.js';
import { resultOf } from '../pipeline/lifecycle/locked-run.js';
import { observe } from '../pipeline/phases/observe.js';
import { chooseTargets } from '../pipeline/phases/rollback-targets.js';
import type { FileRuns, WebRun } from './runs.js';
import type { NodeSource } from './source.js';
import type { Actions, DeployForm, RollbackForm, RollbackTarget } from './types.js';

/** The message and hint of a failure, as the CLI would print them, redacted. */
export function describeFailure(error: unknown): string {
  const hint = error instanceof RelinkError && error.hint ? `\nhint: ${error.hint}` : '';
  return processRedactor.apply(`${errorMessage(error)}${hint}`);
}

export function nodeActions(source: NodeSource, runs: FileRuns, configPath?: string): Actions {
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

  async function observed<T>(
    env: string,
    who: string,
    command: string,
    work: (seen: Seen, run: OpenRun) => Promise<T>,
  ) {
    const run = await quietRun(env, who, command);
    const seen = await observe(run.config, run.inventory, run.user, run.runId, run.deps);
    try {
      return await work({ ...seen, ctx: { ...seen.ctx, command } }, run);
    } finally {
      await seen.close();
      await run.close();
      source.invalidate(env);
    }
  }
  type Seen = Awaited<ReturnType<typeof observe>>;

  return {
    async planDeploy(env, version, who) {
      const { planDeploy } = await import('../pipeline/run.js');
      const run = await quietRun(env, who, 'plan');
      try {
        const req = { ...requestOf(run), version, secrets: run.secrets() };
        return await planDeploy(req, run.deps, run.source);
      } finally {
        await run.close();
      }
    },

    async deploy(env, form: DeployForm, who) {
      const { deploy } = await import('../pipeline/run.js');
      if (!form.version) throw new UsageError('choose a version to deploy');
      return start(env, who, `deploy ${env} ${form.version}`, (run, signal) =>
        deploy(
          {
            ...requestOf(run),
            version: form.version,
            secrets: run.secrets(),
            allowPoison: form.allowPoison?.length ? form.allowPoison : undefined,
            emergency: form.emergency,
            reason: form.reason || undefined,
          },
          { ...run.deps, signal },
          run.source,
        ),
      );
    },

    previewRollback(env, target: RollbackTarget) {
      return observed(env, 'web', 'rollback preview', async (seen) =>
        chooseTargets(seen.ctx, seen.nodes, target, seen.unreachable),
      );
    },

    async rollback(env, form: RollbackForm, who) {
      const { rollback } = await import('../pipeline/rollback.js');
      const spec = form.target.kind === 'last' ? '--last' : `--to ${form.target.spec}`;
      return start(env, who, `rollback ${env} ${spec}${form.emergency ? ' --emergency' : ''}`, (run, signal) =>
        rollback(
          {
            ...requestOf(run),
            target: form.target,
            emergency: form.emergency,
            force: form.force,
            reason: form.reason || undefined,
          },
          { ...run.deps, signal },
        ),
      );
    },

    async freeze(env, message, who) {
      const { freeze } = await import('../pipeline/phases/freeze.js');
      if (!message.trim()) throw new UsageError('say why deploys are frozen');
      return observed(env, who, `lock ${env} -m ${JSON.stringify(message)}`, (seen, run) =>
        freeze(seen, run.stateDir, message),
      );
    },

    async unfreeze(env, runId, who) {
      const { unfreeze } = await import('../pipeline/phases/freeze.js');
      return observed(env, who, `unlock ${env} --run ${runId}`, (seen, run) =>
        unfreeze(seen, run.stateDir, runId, false),
      );
    },

    async describeCommit(rev) {
      const { git, mirror } = await source.repo();
      const commit = /^[A-Za-z0-9][A-Za-z0-9._/+-]*$/.test(rev) ? await git.resolve(rev) : undefined;
      if (!commit) {
        throw new UsageError(`no commit "${rev}" in the repository`, {
          hint: 'give a commit id, tag or branch that exists (git log --oneline)',
        });
      }
      return { commit, subject: await mirror.subject(commit) };
    },

    async poison(rev, message, ticket, who) {
      if (!message.trim()) throw new UsageError('say what the bug is');
      const { commit } = await this.describeCommit(rev);
      const { git } = await source.repo();
      const when = new Date().toISOString();
      const record = await writeRecord(
        git,
        () => ({ id: newPoisonId(commit, when), commit, comment: message, ticket, who, when, cures: [] }),
        `poison ${commit.slice(0, 12)}: ${message}`,
      );
      await source.gate(true);
      return record;
    },

    async cure(id, fix, who) {
      const { git } = await source.repo();
      const { commit } = await this.describeCommit(fix);
      const current = (await source.gate(true)).records.find((r) => r.id === id);
      if (!current) throw new UsageError(`no poison record "${id}"`, { hint: 'the release gate page lists them' });
      const when = new Date().toISOString();
      const record = await writeRecord(
        git,
        (all) => {
          const latest = all.find((r) => r.id === id) ?? current;
          if (latest.cures.some((c) => c.commit === commit)) return latest;
          return { ...latest, cures: [...latest.cures, { commit, who, when }] };
        },
        `cure ${id} with ${commit.slice(0, 12)}`,
      );
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
}

function requestOf(run: OpenRun) {
  return {
    config: run.config,
    inventory: run.inventory,
    user: run.user,
    runId: run.runId,
    stateDir: run.stateDir,
  };
}
