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
  const { releasesRow } = await import('../pipeline/phases/node-rows.js');
  const { formatAge } = await import('../journal/view.js');
  const run = await openRun({ env: argv.env, config: argv.config, command: 'releases', quiet: true, runLog: false });
  const seen = await observe(run.config, run.inventory, run.user, run.runId, run.deps, argv.node);
  try {
    const now = new Date();
    const nodes = seen.nodes.map((node) => releasesRow(seen.ctx, node, seen.unreachable.get(node.name), now));
    if (argv.json) {
      process.stdout.write(
        `${JSON.stringify({ env: run.config.env, deployTo: run.config.deployTo, nodes }, null, 2)}\n`,
      );
    } else {
      const { printable, table } = await import('../log/listing.js');
      // One table over every node, so the columns line up from node to node.
      const rows = nodes.flatMap((n) =>
        n.releases.map((r) => [
          r.current ? 'current' : r.status,
          r.version ?? '?',
          (r.commit ?? '').slice(0, 10),
          formatAge(r.ageSeconds),
          r.name,
        ]),
      );
      const lines = table(rows, { align: ['left', 'left', 'left', 'right'], indent: '  ' }).values();
      for (const n of nodes) {
        const down = 'error' in n && n.error ? `  UNREACHABLE: ${printable(n.error)}` : '';
        process.stdout.write(`${printable(n.node)}${down}\n`);
        for (const _ of n.releases) process.stdout.write(`${lines.next().value}\n`);
        if (n.releases.length === 0 && !down) process.stdout.write('  (no releases)\n');
      }
    }
    if (seen.unreachable.size) process.exitCode = 1;
  } finally {
    await seen.close();
    await run.close();
  }
}
