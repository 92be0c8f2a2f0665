import type { JournalEvent } from '../journal/events.js';

async function journals(env: string, config?: string): Promise<{ events: JournalEvent[][]; unreachable: string[] }> {
  const { openRun } = await import('./compose.js');
  const { observe } = await import('../pipeline/phases/observe.js');
  const { state } = await import('../pipeline/context.js');
  const run = await openRun({ env, config, command: 'history', quiet: true, runLog: false });
  const seen = await observe(run.config, run.inventory, run.user, run.runId, run.deps);
  try {
    for (const [node, why] of seen.unreachable) process.stderr.write(`warning: ${env}/${node} unreachable, its journal is not counted: ${why}\n`);
    return { events: seen.nodes.filter((n) => !seen.unreachable.has(n.name)).map((n) => state(seen.ctx, n).events), unreachable: [...seen.unreachable.keys()] };
  } finally {
    await seen.close();
    await run.close();
  }
}

const seconds = (ms: number | null) => (ms === null ? '-' : `${(ms / 1000).toFixed(1)}s`);

export async function historyCommand(argv: { env: string; n: number; json?: boolean; config?: string }): Promise<void> {
  const { mergeRuns } = await import('../journal/history.js');
  const { events } = await journals(argv.env, argv.config);
  const runs = mergeRuns(events).slice(0, Math.max(0, argv.n));
  if (argv.json) {
    process.stdout.write(JSON.stringify({ env: argv.env, runs }, null, 2) + '\n');
    return;
  }
  if (runs.length === 0) process.stdout.write(`no runs recorded on the nodes of ${argv.env}\n`);
  for (const r of runs) {
    process.stdout.write(
      `${r.ts.replace('T', ' ').slice(0, 19)}  ${r.user.slice(0, 16).padEnd(16)} ${r.command.padEnd(28)} ${(r.version ?? '-').padEnd(10)} ${r.result.padEnd(11)} ${seconds(r.ms).padStart(7)}  ${r.nodes.length} node(s)\n`,
    );
  }
}

export async function statsCommand(argv: { env?: string; since: string; json?: boolean; config?: string }): Promise<void> {
  const { computeStats, mergeRuns, parseSince } = await import('../journal/history.js');
  const { knownEnvironments } = await import('../inventory/load.js');
  const { findConfigFile } = await import('../config/load.js');
  const { UsageError } = await import('../errors.js');
  const path = await import('node:path');
  let window: number;
  try {
    window = parseSince(argv.since);
  } catch (error) {
    throw new UsageError((error as Error).message, { hint: 'e.g. --since 30d' });
  }
  const envs = argv.env ? [argv.env] : knownEnvironments(path.dirname(findConfigFile(process.cwd(), argv.config)));
  const cutoff = new Date(Date.now() - window).toISOString();
  const perEnv: Record<string, ReturnType<typeof computeStats>> = {};
  const all = [];
  for (const env of envs) {
    const runs = mergeRuns((await journals(env, argv.config)).events).filter((r) => r.ts >= cutoff);
    perEnv[env] = computeStats(runs);
    all.push(...runs);
  }
  const total = computeStats(all);
  if (argv.json) {
    process.stdout.write(JSON.stringify({ since: argv.since, ...(argv.env ? perEnv[argv.env] : { total, environments: perEnv }) }, null, 2) + '\n');
    return;
  }
  const rows = argv.env ? [[argv.env, perEnv[argv.env]!] as const] : [...Object.entries(perEnv), ['all', total] as const];
  process.stdout.write(`since ${argv.since}\n`);
  for (const [env, s] of rows) {
    process.stdout.write(
      `${env.padEnd(6)} deploys ${s.deploys} (ok ${s.successes}, failed ${s.failures}, success rate ${s.successRate === null ? '-' : `${Math.round(s.successRate * 100)}%`}), ` +
        `rollbacks ${s.rollbacks} (normal ${s.rollbacksNormal}, emergency ${s.rollbacksEmergency}, failed ${s.rollbacksFailed}), ` +
        `duration median ${seconds(s.medianMs)} p95 ${seconds(s.p95Ms)}, time to recover ${seconds(s.mttrMs)}, ` +
        `last success ${s.lastSuccess?.slice(0, 19).replace('T', ' ') ?? '-'}, last failure ${s.lastFailure?.slice(0, 19).replace('T', ' ') ?? '-'}` +
        `${s.poisonOverrides ? `, released with known bugs allowed: ${s.poisonOverrides}` : ''}${s.emergencyReleases ? `, emergency releases outside the windows: ${s.emergencyReleases}` : ''}\n`,
    );
  }
}
