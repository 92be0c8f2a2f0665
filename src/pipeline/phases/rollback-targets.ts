import { EXIT, RelinkError, UsageError } from '../../errors.js';
import type { NodeSpec } from '../../inventory/types.js';
import { type Flags, nextStep, said } from '../../next.js';
import type { JournalEvent } from '../../journal/events.js';
import { matchReleases, previousGood, releaseRecords } from '../../journal/releases.js';
import type { ReleaseFacts } from '../../template/scope.js';
import { type RunContext, state } from '../context.js';

export type RollbackTarget = { readonly kind: 'last' } | { readonly kind: 'to'; readonly spec: string };

/** One row of the per-node rollback table. */
export interface RollbackRow {
  readonly node: string;
  readonly current?: string;
  readonly currentVersion?: string;
  readonly target?: ReleaseFacts;
  /** Why this node cannot be rolled back; absent when it can. */
  readonly problem?: string;
  /** `--last`: the newest run that changed releases did not change this node, so it stays. */
  readonly untouched?: boolean;
  /** The target's known bugs without their fix (poison ids), where the operations checked them. */
  readonly knownBugs?: readonly string[];
}

/** One run's net move of `current` on one node. */
interface NetMove {
  readonly run: string;
  readonly ts: string;
  readonly from?: string;
  readonly to: string;
}

/**
 * Each run's net move of `current` on one node, in journal order. A run that
 * left the node where it was (a failed deploy that put it back) moved nothing;
 * a retry of a partial deploy counts as part of it.
 */
export function netMoves(events: readonly JournalEvent[]): NetMove[] {
  const byRun = new Map<string, { run: string; ts: string; from?: string; to: string }>();
  let current: string | undefined;
  for (const e of events) {
    if ((e.event !== 'activated' && e.event !== 'rolled_back') || !e.release) continue;
    // `deploy --retry-failed` finishes the run it retries: the two undo as one.
    const run = e.retryOf ?? e.run;
    const move = byRun.get(run);
    if (move) Object.assign(move, { ts: e.ts, to: e.release });
    else byRun.set(run, { run, ts: e.ts, from: current, to: e.release });
    current = e.release;
  }
  return [...byRun.values()].filter((m) => m.from !== m.to).sort((a, b) => a.ts.localeCompare(b.ts));
}

/**
 * The run `--last` undoes: the newest run that moved `current` (a deploy's
 * activation or a rollback) on any of the nodes and did not put it back. A
 * deploy limited with `--node` changed only those nodes, so only those go back.
 */
export function lastChangingRun(journals: readonly (readonly JournalEvent[])[]): string | undefined {
  let newest: NetMove | undefined;
  for (const events of journals) {
    for (const m of netMoves(events)) if (!newest || m.ts > newest.ts) newest = m;
  }
  return newest?.run;
}

/** The run that last moved `current` to the release it names now, on one node. */
function runOfCurrent(events: readonly JournalEvent[], current: string | undefined): string | undefined {
  const last = netMoves(events).at(-1);
  return last?.to === current ? last?.run : undefined;
}

/** Chooses each node's target from its own journal and checks that the release is on disk. */
export function chooseTargets(
  ctx: RunContext,
  nodes: readonly NodeSpec[],
  target: RollbackTarget,
  unreachable: ReadonlyMap<string, string>,
): RollbackRow[] {
  const last = target.kind === 'last' ? lastChangingRun(nodes.map((n) => state(ctx, n).events)) : undefined;
  return nodes.map((node): RollbackRow => {
    const down = unreachable.get(node.name);
    if (down) return { node: node.name, problem: `unreachable: ${down}` };
    const s = state(ctx, node);
    const records = releaseRecords(s.events);
    const current = s.current;
    const currentVersion = current ? records.get(current)?.version : undefined;
    const chosen = target.kind === 'last' ? previousGood(records, current) : matchReleases(records, target.spec)[0];
    const row = { node: node.name, current, currentVersion };
    const here = current ? records.get(current) : undefined;
    if (last && here && runOfCurrent(s.events, current) !== last) {
      const stays = {
        release: here.name,
        version: here.version ?? 'unknown',
        commit: here.commit ?? 'unknown',
        branch: '',
      };
      return { ...row, target: stays, untouched: true };
    }
    if (!chosen) {
      const problem =
        target.kind === 'last'
          ? 'no previous good release in the journal'
          : `no release "${target.spec}" that passed a smoke test here`;
      return { ...row, problem };
    }
    const version = chosen.version ?? 'unknown';
    const facts: ReleaseFacts = { release: chosen.name, version, commit: chosen.commit ?? 'unknown', branch: '' };
    if (!s.onDisk.includes(chosen.name)) {
      return { ...row, target: facts, problem: `${chosen.name} is not on disk (removed by hand?)` };
    }
    return { ...row, target: facts };
  });
}

export function formatRows(rows: readonly RollbackRow[]): string {
  const width = Math.max(4, ...rows.map((r) => r.node.length));
  return rows
    .map((r) => {
      const from = r.currentVersion ?? (r.current ? r.current : '(none)');
      const to = r.target ? `${r.target.version} (${r.target.release})` : '-';
      const stays = r.untouched ? '   (not changed by the last run: stays)' : '   (already there)';
      const note = r.problem ? `   !! ${r.problem}` : r.target?.release === r.current ? stays : '';
      return `  ${r.node.padEnd(width)}  ${from.padEnd(10)} -> ${to}${note}`;
    })
    .join('\n');
}

/** `--to <version>`: a blank the person fills in. */
export const TO_ANY: Flags = { to: '<version>' };

/** `--to X` that no reachable node has (passed a smoke test there): bad input, exit 2, even with --force. */
export function noSuchRelease(
  rows: readonly RollbackRow[],
  target: RollbackTarget,
  env: string,
): UsageError | undefined {
  const seen = rows.filter((r) => !r.problem?.startsWith('unreachable'));
  if (target.kind !== 'to' || seen.length === 0 || seen.some((r) => r.target)) return undefined;
  const message = `rollback refused: no node has a release "${target.spec}" that passed a smoke test there`;
  return new UsageError(`${message}. Nothing was changed.\n${formatRows(rows)}`, {
    hint: said`see which releases each node has: ${nextStep('releases', env)}`,
  });
}

/** The refusal, before anything changed, when a node cannot be rolled back or the nodes disagree (unless --force). */
export function refusalOf(
  rows: readonly RollbackRow[],
  env: string,
  force: boolean,
  untrusted = false,
): RelinkError | undefined {
  const targets = new Set(rows.filter((r) => r.target && !r.problem && !r.untouched).map((r) => r.target!.release));
  const problems = rows.filter((r) => r.problem);
  if ((problems.length === 0 && targets.size <= 1) || force) return undefined;
  const why = problems.length
    ? `${problems.length} node(s) cannot be rolled back`
    : 'the nodes would go to different releases';
  const pick = nextStep('rollback', env, TO_ANY);
  const forced = nextStep('again', undefined, { force: true });
  return new RelinkError(`rollback refused: ${why}. Nothing was changed.\n${formatRows(rows)}`, {
    hint: said`pick a release every node has (${pick}), or roll back only the nodes that can: add ${forced}`,
    exitCode: untrusted ? EXIT.usage : EXIT.failed,
  });
}
