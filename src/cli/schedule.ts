import { spawn } from 'node:child_process';
import path from 'node:path';
import type { NamedEntry } from '../gates/schedule.js';

function log(message: string): void {
  process.stdout.write(`${new Date().toISOString()} schedule: ${message}\n`);
}

/** What an entry would deploy now, or why it would not. */
async function resolveEntry(entry: NamedEntry, configPath: string | undefined): Promise<{ version?: string; skip?: string }> {
  const { openRun } = await import('./compose.js');
  const { observe } = await import('../pipeline/phases/observe.js');
  const { state } = await import('../pipeline/context.js');
  const { releaseRecords } = await import('../journal/releases.js');
  const { GitMirror } = await import('../transport/git.js');
  const { pickTag, promotedVersion } = await import('../gates/schedule.js');
  const running = async (env: string) => {
    const run = await openRun({ env, config: configPath, command: 'schedule', quiet: true, runLog: false });
    const seen = await observe(run.config, run.inventory, run.user, run.runId, run.deps);
    try {
      return seen.nodes
        .filter((n) => !seen.unreachable.has(n.name))
        .map((n) => {
          const s = state(seen.ctx, n);
          const r = s.current ? releaseRecords(s.events).get(s.current) : undefined;
          return { version: r?.version, good: r?.status === 'good' };
        });
    } finally {
      await seen.close();
      await run.close();
    }
  };
  let version: string | undefined;
  if (entry.version === 'promote:pre') {
    version = promotedVersion(await running('pre'));
    if (!version) return { skip: 'the pre nodes do not all run one good release' };
  } else {
    const run = await openRun({ env: entry.env, config: configPath, command: 'schedule', quiet: true, runLog: false });
    const mirror = new GitMirror(path.join(run.stateDir, 'repo.git'), run.config.repo);
    await mirror.sync();
    await run.close();
    version = pickTag(entry.version, await mirror.tags());
    if (!version) return { skip: `no tag matches "${entry.version}"` };
  }
  const now = await running(entry.env);
  if (now.length && now.every((n) => n.version === version)) return { skip: `${entry.env} already runs ${version}: no new version` };
  return { version };
}

/** Runs one normal deploy, with every gate, as a child process; resolves its exit code. */
function runDeploy(entry: NamedEntry, version: string, configPath: string | undefined, children: Set<ReturnType<typeof spawn>>): Promise<number> {
  const args = [process.argv[1]!, entry.env, version, '--author', `schedule:${entry.name}`, ...(configPath ? ['--config', configPath] : [])];
  const child = spawn(process.execPath, args, { stdio: 'inherit' });
  children.add(child);
  return new Promise((resolve) =>
    child.on('exit', (code, signal) => {
      children.delete(child);
      resolve(code ?? (signal ? 128 : 1));
    }),
  );
}

async function fire(entry: NamedEntry, configPath: string | undefined, children: Set<ReturnType<typeof spawn>>): Promise<number> {
  const resolved = await resolveEntry(entry, configPath);
  if (!resolved.version) {
    log(`${entry.name}: skipped: ${resolved.skip}`);
    return 0;
  }
  log(`${entry.name}: deploying ${resolved.version} to ${entry.env}`);
  const code = await runDeploy(entry, resolved.version, configPath, children);
  log(`${entry.name}: deploy ${entry.env} ${resolved.version} ${code === 0 ? 'succeeded' : `ended with exit code ${code}`}`);
  return code;
}

export async function scheduleCommand(argv: { list?: boolean; crontab?: boolean; runOnce?: string; config?: string }): Promise<void> {
  const { findConfigFile, loadUserConfig } = await import('../config/load.js');
  const { named } = await import('../gates/schedule.js');
  const { UsageError } = await import('../errors.js');
  const { Cron } = await import('croner');
  const file = findConfigFile(process.cwd(), argv.config);
  const user = await loadUserConfig(file);
  const entries = named(user.schedule ?? []);
  if (entries.length === 0) throw new UsageError('no schedule in deploy.config.ts', { hint: "add schedule: [{ env: 'prod', cron: '0 17 * * 2,4', version: 'latest' }]" });
  const tzOf = (e: NamedEntry) => e.timezone ?? user.environments?.[e.env]?.timezone ?? user.timezone ?? 'UTC';
  const children = new Set<ReturnType<typeof spawn>>();

  if (argv.runOnce) {
    const entry = entries.find((e) => e.name === argv.runOnce);
    if (!entry) throw new UsageError(`no schedule entry "${argv.runOnce}"`, { hint: `entries: ${entries.map((e) => e.name).join(', ')}` });
    process.exitCode = await fire(entry, argv.config, children);
    return;
  }
  if (argv.crontab) {
    const root = path.dirname(file);
    for (const e of entries) {
      const fields = e.cron.trim().split(/\s+/);
      if (fields.length !== 5) {
        process.stdout.write(`# ${e.name}: "${e.cron}" has seconds; the system cron cannot run it, use: deploy schedule\n`);
        continue;
      }
      process.stdout.write(`CRON_TZ=${tzOf(e)}\n${e.cron} cd '${root}' && '${process.execPath}' '${process.argv[1]}' schedule --run-once '${e.name}' >> '${root}/.relink/logs/schedule.log' 2>&1\n`);
    }
    return;
  }
  if (argv.list) {
    for (const e of entries) {
      const cron = new Cron(e.cron, { timezone: tzOf(e), paused: true });
      const next = cron.nextRuns(3).map((d) => d.toISOString().replace('.000Z', 'Z'));
      const resolved = await resolveEntry(e, argv.config).catch((error: Error) => ({ skip: error.message.split('\n')[0] }) as { version?: string; skip?: string });
      process.stdout.write(`${e.name.padEnd(12)} ${e.env.padEnd(6)} ${e.cron} (${tzOf(e)})  next: ${next.join(', ')}  would take: ${resolved.version ?? `nothing (${resolved.skip})`}\n`);
    }
    return;
  }

  // Foreground: one job per entry; never two releases at once.
  let busy: Promise<unknown> | undefined;
  const jobs = entries.map(
    (e) =>
      new Cron(e.cron, { timezone: tzOf(e), protect: true }, async () => {
        if (busy) {
          log(`${e.name}: skipped: a release is still running`);
          return;
        }
        busy = fire(e, argv.config, children).catch((error: Error) => log(`${e.name}: failed: ${error.message.split('\n')[0]}`));
        await busy;
        busy = undefined;
      }),
  );
  for (const [i, job] of jobs.entries()) log(`${entries[i]!.name}: ${entries[i]!.env} ${entries[i]!.version} at "${entries[i]!.cron}" (${tzOf(entries[i]!)}), next ${job.nextRun()?.toISOString()}`);
  await new Promise<void>((resolve) => {
    const stop = (signal: NodeJS.Signals) => {
      log(`${signal}: no new releases will start${children.size ? '; the running one is asked to stop and undo itself' : ''}`);
      for (const job of jobs) job.stop();
      for (const child of children) child.kill('SIGTERM');
      void Promise.resolve(busy).then(() => resolve());
    };
    process.once('SIGTERM', stop);
    process.once('SIGINT', stop);
  });
  log('stopped');
}
