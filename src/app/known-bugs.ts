// The known bugs of releases already on the nodes: the release gate of a rollback (refused, allowed,
// or, in an emergency, said where it lands), and the known bugs shown beside each release and each
// rollback target. The records are the repository's (src/gates/poison.ts); with the remote down, the
// ones fetched last, said so; never a reason to refuse a rollback.
import { errorMessage } from '../errors.js';
import { checkHistory, loadRecords, type PoisonRecord } from '../gates/poison.js';
import type { KnownBugs } from '../pipeline/phases/rollback-gate.js';
import type { RollbackRow } from '../pipeline/phases/rollback-targets.js';
import { type GitMirror, GitRecords } from '../transport/git.js';
import { openAt } from './poison.js';
import type { EnvView, ReleasesJson } from './views.js';

/** How long a rollback waits for the repository before it judges with the records fetched last. */
export const GATE_FETCH_MS = 15_000;
/** An emergency rollback waits less: it goes ahead whatever the records say. */
export const EMERGENCY_FETCH_MS = 5_000;

export interface GateRecords {
  readonly git: GitRecords;
  readonly records: readonly PoisonRecord[];
}

type Warn = (message: string) => void;

/** The poison records, fetched within a deadline; offline or never fetched is said through `warn`, never thrown. */
export async function gateRecords(
  mirror: GitMirror,
  warn: Warn,
  timeoutMs = GATE_FETCH_MS,
): Promise<GateRecords | undefined> {
  try {
    const synced = await mirror.sync({ timeoutMs });
    if (synced.offline) {
      const why = synced.reason ?? 'unreachable';
      warn(`cannot fetch ${mirror.remote} (${why}): the release gate uses the poison records fetched last`);
    }
    const git = new GitRecords(mirror);
    const { records, malformed } = await loadRecords(git);
    for (const file of malformed) warn(`skipped a malformed poison record: ${file}`);
    return { git, records };
  } catch (error) {
    warn(`the release gate cannot read the poison records (${errorMessage(error)}): known bugs are not checked`);
    return undefined;
  }
}

/** A rollback's release gate; the records are fetched at once, while the run connects to its nodes. */
export function rollbackBugs(mirror: GitMirror, warn: Warn, emergency = false): KnownBugs {
  const loaded = gateRecords(mirror, warn, emergency ? EMERGENCY_FETCH_MS : GATE_FETCH_MS);
  return {
    async findings(commit) {
      const gate = await loaded;
      if (!gate?.records.length) return [];
      try {
        if (await gate.git.resolve(commit)) return await checkHistory(gate.git, commit, gate.records);
        warn(`commit ${commit.slice(0, 12)} is not in the repository as fetched: its known bugs are not checked`);
      } catch (error) {
        warn(`the known bugs of ${commit.slice(0, 12)} are not checked: ${errorMessage(error)}`);
      }
      return [];
    },
  };
}

/** The open known bugs of each commit, by id (cached per commit); undefined when it could not be checked. */
function bugsOf(gate: GateRecords) {
  const seen = new Map<string, string[]>();
  return async (commit: string | undefined): Promise<string[] | undefined> => {
    if (!commit || !/^[0-9a-f]{40}$/.test(commit)) return undefined;
    return openAt(gate.git, commit, gate.records, seen).catch(() => undefined);
  };
}

/** `deploy releases --json` with each release's known bugs (open poison ids in its commit's history). */
export async function releasesWithBugs(json: ReleasesJson, gate: GateRecords | undefined): Promise<ReleasesJson> {
  if (!gate) return json;
  const of = bugsOf(gate);
  const nodes = [];
  for (const n of json.nodes) {
    if ('error' in n) {
      nodes.push(n);
      continue;
    }
    const releases = [];
    for (const r of n.releases) {
      const knownBugs = await of(r.commit);
      releases.push(knownBugs ? { ...r, knownBugs } : r);
    }
    nodes.push({ ...n, releases });
  }
  return { ...json, nodes };
}

/** Rollback rows with the known bugs of each target. */
export async function rollbackWithBugs(rows: readonly RollbackRow[], gate: GateRecords | undefined) {
  if (!gate) return [...rows];
  const of = bugsOf(gate);
  const out: RollbackRow[] = [];
  for (const row of rows) {
    const knownBugs = row.target && !row.untouched ? await of(row.target.commit) : undefined;
    out.push(knownBugs ? { ...row, knownBugs } : row);
  }
  return out;
}

/** An environment's view with the known bugs of its releases and rollback targets (the dashboard's). */
export async function envWithBugs(view: EnvView, git: GitRecords): Promise<EnvView> {
  const gate = await loadRecords(git)
    .then(({ records }) => ({ git, records }))
    .catch(() => undefined);
  if (!gate?.records.length) return view;
  const releases = await releasesWithBugs(view.releases, gate);
  const last = await rollbackWithBugs(view.rollback.last, gate);
  return { ...view, releases, rollback: { ...view.rollback, last } };
}
