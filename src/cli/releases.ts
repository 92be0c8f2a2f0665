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
  const { formatAge, observeEnv, releasesOf } = await import('../app/reads.js');
  const { gateRecords, releasesWithBugs } = await import('../app/known-bugs.js');
  const { run, seen, close } = await observeEnv({
    env: argv.env,
    config: argv.config,
    command: 'releases',
    nodes: argv.node,
  });
  try {
    // Each release's known bugs, from the poison records (offline: the ones fetched last, said so).
    const warn = (message: string) => void process.stderr.write(`warning: ${message}\n`);
    const plain = { env: run.config.env, deployTo: run.config.deployTo, nodes: releasesOf(seen, new Date()) };
    const { nodes } = await releasesWithBugs(plain, await gateRecords(run.mirror, warn));
    if (argv.json) {
      const { printJson, releasesJson } = await import('../app/shapes.js');
      printJson(releasesJson, { ...plain, nodes });
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
          r.knownBugs?.length ? `known bugs: ${r.knownBugs.join(', ')}` : '',
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
    await close();
  }
}
