// History and stats, read from the nodes' journals (the durable record): `deploy history`, `deploy stats`
// and the dashboard's runs and stats pages.
import path from 'node:path';
import { findConfigFile } from '../config/load.js';
import { UsageError } from '../errors.js';
import { knownEnvironments } from '../inventory/load.js';
import type { JournalEvent } from '../journal/events.js';
import { computeDora } from '../journal/dora.js';
import { computeStats, mergeRuns, parseSince, type RunRecord, type Stats } from '../journal/history.js';
import { firstCommits } from './dora.js';
import { withObserved } from './observed.js';
import { journalsOf } from './reads.js';
import { openMirror } from './repo.js';

export type { RunRecord, Stats };
export { computeStats, isDefaultReason, mergeRuns, parseSince } from '../journal/history.js';
export { computeDora, type Dora } from '../journal/dora.js';

/** The journals of an environment's reachable nodes; `warn` hears of each unreachable one. */
export async function journals(
  env: string,
  config: string | undefined,
  warn: (node: string, why: string) => void,
): Promise<{ events: JournalEvent[][]; unreachable: string[] }> {
  return withObserved({ env, config, command: 'history' }, async ({ seen }) => {
    for (const [node, why] of seen.unreachable) warn(node, why);
    return { events: journalsOf(seen), unreachable: [...seen.unreachable.keys()] };
  });
}

/** The runs of one environment, newest first (a node in two environments journals both: only this one's). */
export async function history(
  env: string,
  config: string | undefined,
  warn: (node: string, why: string) => void,
): Promise<RunRecord[]> {
  return mergeRuns((await journals(env, config, warn)).events).filter((r) => r.env === env);
}

/** The environments of the project: one per hosts/<env>.yaml. */
export function environments(config?: string): string[] {
  return knownEnvironments(path.dirname(findConfigFile(process.cwd(), config)));
}

/** `--since 30d` as milliseconds; what is not a window is a usage error. */
export function sinceMs(since: string): number {
  try {
    return parseSince(since);
  } catch (error) {
    throw new UsageError((error as Error).message, { hint: 'e.g. --since 30d' });
  }
}

/**
 * The stats of each environment since `since`, with DORA's four keys (its config's stats.changeFailureWindowMs;
 * lead times from the project's mirror), and of all of them together.
 */
export async function stats(
  envs: readonly string[],
  since: string,
  config: string | undefined,
  warn: (env: string, node: string, why: string) => void,
): Promise<{ perEnv: Record<string, Stats>; total: Stats }> {
  const spanMs = sinceMs(since);
  const cutoff = new Date(Date.now() - spanMs).toISOString();
  const perEnv: Record<string, Stats> = {};
  const all: RunRecord[] = [];
  for (const env of envs) {
    perEnv[env] = await withObserved({ env, config, command: 'history' }, async ({ run, seen }) => {
      for (const [node, why] of seen.unreachable) warn(env, node, why);
      const runs = mergeRuns(journalsOf(seen)).filter((r) => r.env === env);
      const inWindow = runs.filter((r) => r.ts >= cutoff);
      all.push(...inWindow);
      const mirror = openMirror(run.stateDir, run.config.repo);
      const firstCommitMs = await firstCommits(mirror, runs, inWindow);
      const { changeFailureWindowMs } = run.config.stats;
      return {
        ...computeStats(inWindow),
        dora: computeDora(inWindow, { spanMs, changeFailureWindowMs, firstCommitMs }),
      };
    });
  }
  return { perEnv, total: computeStats(all) };
}
