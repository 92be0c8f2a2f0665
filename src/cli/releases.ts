import { type OptionSet, verb, withEnv } from './options.js';

export const options = {
  json: { type: 'boolean' },
  node: { type: 'string', array: true },
} as const satisfies OptionSet;

export const command = verb({
  command: 'releases <env>',
  describe: 'every release on disk per node: good, bad, current, version, commit, age',
  builder: (y) => withEnv(y).options(options),
  handler: (argv) => releasesCommand(argv),
});

export async function releasesCommand(argv: {
  env: string;
  json?: boolean;
  node?: string[];
  config?: string;
}): Promise<void> {
  const { openRun } = await import('./compose.js');
  const { observe } = await import('../pipeline/phases/observe.js');
  const { state } = await import('../pipeline/context.js');
  const { formatAge, releaseRows } = await import('../journal/view.js');
  const run = await openRun({ env: argv.env, config: argv.config, command: 'releases', quiet: true, runLog: false });
  const seen = await observe(run.config, run.inventory, run.user, run.runId, run.deps, argv.node);
  try {
    const now = new Date();
    const nodes = seen.nodes.map((node) => {
      const down = seen.unreachable.get(node.name);
      if (down) return { node: node.name, error: down, releases: [] };
      const s = state(seen.ctx, node);
      return { node: node.name, current: s.current, releases: releaseRows(s.events, s.onDisk, s.current, now) };
    });
    if (argv.json) {
      process.stdout.write(
        `${JSON.stringify({ env: run.config.env, deployTo: run.config.deployTo, nodes }, null, 2)}\n`,
      );
    } else {
      for (const n of nodes) {
        process.stdout.write(`${n.node}${'error' in n && n.error ? `  UNREACHABLE: ${n.error}` : ''}\n`);
        for (const r of n.releases) {
          const mark = r.current ? 'current' : r.status;
          const commit = (r.commit ?? '').slice(0, 10).padEnd(10);
          const age = formatAge(r.ageSeconds).padStart(5);
          process.stdout.write(`  ${mark.padEnd(9)} ${(r.version ?? '?').padEnd(12)} ${commit} ${age}  ${r.name}\n`);
        }
        if (n.releases.length === 0 && !('error' in n && n.error)) process.stdout.write('  (no releases)\n');
      }
    }
    if (seen.unreachable.size) process.exitCode = 1;
  } finally {
    await seen.close();
    await run.close();
  }
}
