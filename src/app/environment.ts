// One environment read from its nodes, in the shapes of `status`, `releases`, `lock status` and
// `history` --json, plus the rollback targets. Read-only: observe() connects, inspects and closes.
import { loadProject, newRunId } from './compose.js';
import { learnSecrets } from '../config/secrets.js';
import { errorMessage } from '../errors.js';
import { describeWindow, windowState } from '../gates/window.js';
import type { JournalEvent } from '../journal/events.js';
import { mergeRuns } from '../journal/history.js';
import { releaseRecords } from '../journal/releases.js';
import { processRedactor } from '../log/redact.js';
import { state } from '../pipeline/context.js';
import { observe } from './observe.js';
import { chooseTargets } from '../pipeline/phases/rollback-targets.js';
import { SshTransport } from '../transport/ssh.js';
import { runDeps, silent } from './deps.js';
import { firstCommits } from './dora.js';
import { openMirror } from './repo.js';
import { journalsOf, locksOf, releasesOf, statusOf } from './reads.js';
import type { EnvView } from './views.js';

/** An environment whose config or inventory does not load: the page says why and goes on. */
export function brokenEnv(env: string, problem: string, now: Date): EnvView {
  const readAt = now.toISOString();
  return {
    env,
    readAt,
    problem,
    window: '-',
    status: { env, drift: false, nodes: [] },
    releases: { env, deployTo: '', nodes: [] },
    locks: { env, nodes: [] },
    runs: [],
    rollback: { last: [], to: [] },
    corrupt: [],
  };
}

export async function readEnv(env: string, configPath: string | undefined): Promise<EnvView> {
  const now = new Date();
  let project: Awaited<ReturnType<typeof loadProject>>;
  try {
    project = await loadProject(env, configPath);
  } catch (error) {
    return brokenEnv(env, processRedactor.apply(errorMessage(error)), now);
  }
  const { config, inventory } = project;
  learnSecrets(config, process.env, processRedactor);
  const deps = runDeps({ transport: new SshTransport(config.ssh), reporter: silent, redactor: processRedactor });
  const seen = await observe(config, inventory, 'web', newRunId(now), deps);
  try {
    const { ctx, nodes, unreachable } = seen;
    const { rows: status, drift: drifted } = await statusOf(seen, now);
    const reachable = nodes.filter((n) => !unreachable.has(n.name));
    const window = config.windows.length ? windowState(config.windows, config.timezone, now) : undefined;
    // A node in two environments keeps one journal: each environment shows its own runs.
    const runs = mergeRuns(journalsOf(seen)).filter((r) => r.env === env);
    const firstCommitMs = await firstCommits(openMirror(project.stateDir, config.repo), runs, runs.slice(0, 500));
    return {
      env,
      readAt: now.toISOString(),
      window: describeWindow(window, config.timezone),
      pre: inventory.pre,
      status: { env, drift: drifted, nodes: status },
      releases: { env, deployTo: config.deployTo, nodes: releasesOf(seen, now) },
      locks: { env, nodes: locksOf(seen, now) },
      runs,
      rollback: {
        last: chooseTargets(ctx, nodes, { kind: 'last' }, unreachable),
        to: versionsEverywhere(reachable.map((n) => state(ctx, n))).filter(
          (v) => !status.every((r) => !r.reachable || r.version === v),
        ),
      },
      corrupt: reachable.map((n) => ({ node: n.name, lines: state(ctx, n).corrupt.length })).filter((c) => c.lines > 0),
      dora: { changeFailureWindowMs: config.stats.changeFailureWindowMs, firstCommitMs },
    };
  } finally {
    await seen.close();
  }
}

/**
 * Versions `rollback --to` can reach on every reachable node: on disk there, passed a smoke test
 * there, not failed since. Most recently activated first (by the first node's journal).
 */
function versionsEverywhere(states: readonly { events: JournalEvent[]; onDisk: string[] }[]): string[] {
  const per = states.map((s) => {
    const records = [...releaseRecords(s.events).values()];
    const ok = records.filter(
      (r) => r.version && r.passedSmoke && r.status !== 'failed' && r.status !== 'removed' && s.onDisk.includes(r.name),
    );
    return ok.sort((a, b) => b.activatedAt - a.activatedAt).map((r) => r.version!);
  });
  if (per.length === 0) return [];
  const [first, ...rest] = per;
  return [...new Set(first)].filter((v) => rest.every((vs) => vs.includes(v)));
}
