import { type OptionSet, verb, withEnv } from './options.js';

export const options = {
  json: { type: 'boolean' },
  check: { type: 'boolean', describe: 'exit non-zero when nodes drift or one is unhealthy or unreachable' },
  node: { type: 'string', array: true },
} as const satisfies OptionSet;

export const command = verb({
  command: 'status <env>',
  describe: 'per node: current release, version, commit, since, health, lock; warns on drift',
  builder: (y) => withEnv(y).options(options),
  handler: (argv) => statusCommand(argv),
});

export async function statusCommand(argv: {
  env: string;
  json?: boolean;
  check?: boolean;
  node?: string[];
  config?: string;
}): Promise<void> {
  const { openRun } = await import('./compose.js');
  const { observe } = await import('../pipeline/phases/observe.js');
  const { state } = await import('../pipeline/context.js');
  const { smokeAttempt } = await import('../pipeline/rollout/activate.js');
  const { releaseRecords } = await import('../journal/releases.js');
  const { drift } = await import('../journal/view.js');
  const { describeOwner } = await import('../gates/lock.js');
  const run = await openRun({ env: argv.env, config: argv.config, command: 'status', quiet: true, runLog: false });
  const seen = await observe(run.config, run.inventory, run.user, run.runId, run.deps, argv.node);
  try {
    const now = new Date();
    const rows = await Promise.all(
      seen.nodes.map(async (node) => {
        const down = seen.unreachable.get(node.name);
        if (down) return { node: node.name, reachable: false, error: down, healthy: false };
        const s = state(seen.ctx, node);
        const record = s.current ? releaseRecords(s.events).get(s.current) : undefined;
        const facts = {
          release: s.current ?? '',
          version: record?.version ?? 'unknown',
          commit: record?.commit ?? 'unknown',
          branch: '',
        };
        const problem = !s.current
          ? 'nothing deployed'
          : run.config.smoke
            ? await smokeAttempt(seen.ctx, node, facts)
            : '';
        return {
          node: node.name,
          reachable: true,
          current: s.current,
          version: record?.version,
          commit: record?.commit,
          since: record?.ts,
          /** The journal does not know this release: `current` was moved by hand. */
          unrecorded: Boolean(s.current && !record),
          healthy: problem === '',
          health: problem || (run.config.smoke ? 'ok' : 'ok (no smoke test configured)'),
          lock: s.lock ? describeOwner(s.lock, now) : undefined,
        };
      }),
    );
    const groups = drift(new Map(rows.filter((r) => r.reachable).map((r) => [r.node, r.current])));
    const drifted = groups.size > 1;
    const unhealthy = rows.filter((r) => !r.healthy);
    if (argv.json) {
      process.stdout.write(`${JSON.stringify({ env: run.config.env, drift: drifted, nodes: rows }, null, 2)}\n`);
    } else {
      for (const r of rows) {
        if (!r.reachable) {
          process.stdout.write(`${r.node.padEnd(10)} UNREACHABLE  ${r.error}\n`);
          continue;
        }
        const since = r.since ? `since ${r.since.replace('T', ' ').slice(0, 19)}` : '';
        const version = `${(r.version ?? '?').padEnd(10)} ${(r.commit ?? '').slice(0, 10).padEnd(10)}`;
        const health = r.healthy ? 'healthy' : 'UNHEALTHY';
        const unrecorded = r.unrecorded ? '  (not in the journal: relinked by hand?)' : '';
        const problem = r.healthy ? '' : `\n${''.padEnd(11)}${r.health}`;
        const locked = r.lock ? `\n${''.padEnd(11)}locked by ${r.lock}` : '';
        const line = `${r.node.padEnd(10)} ${version} ${health}  ${r.current ?? '(none)'} ${since}`;
        process.stdout.write(`${line}${unrecorded}${problem}${locked}\n`);
      }
      if (drifted) {
        process.stdout.write(`warning: drift: the nodes run ${groups.size} different releases:\n`);
        for (const [release, nodes] of groups) process.stdout.write(`  ${release}: ${nodes.join(', ')}\n`);
      }
    }
    if (argv.check && (drifted || unhealthy.length)) process.exitCode = 1;
  } finally {
    await seen.close();
    await run.close();
  }
}
