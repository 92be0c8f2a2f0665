import { count, type OptionSet, verb, withEnv } from './options.js';

export const options = {
  node: { type: 'string', array: true, describe: 'only these nodes' },
  follow: { alias: 'f', type: 'boolean', describe: 'keep following until Ctrl-C' },
  lines: { alias: 'n', ...count('-n/--lines', 'lines from the end of each file', 200) },
  color: {
    type: 'string',
    choices: ['auto', 'always', 'never'],
    default: 'auto',
    describe: "the app's colours: kept on a terminal (auto), always kept, or removed",
  },
} as const satisfies OptionSet;

export const command = verb({
  command: 'logs <env>',
  describe: 'the application log of the nodes, node name in front of each line',
  builder: (y) => withEnv(y).options(options),
  handler: (argv) => logsCommand(argv),
});

export async function logsCommand(argv: {
  env: string;
  node?: string[];
  follow?: boolean;
  lines: number;
  color?: string;
  config?: string;
}): Promise<void> {
  const { openLogs } = await import('../app/logs.js');
  const { colourOn, displayWidth, pad, printable, printableLog } = await import('../log/listing.js');
  const colour = colourOn((argv.color ?? 'auto') as 'auto' | 'always' | 'never', process.stdout.isTTY);
  const logs = await openLogs({ ...argv, nodes: argv.node, follow: Boolean(argv.follow) });
  const width = Math.max(...logs.nodes.map((n) => displayWidth(printable(n))));
  // Redacted before it is escaped: a secret is matched as the app wrote it. A tab stays a tab, colours as --color says.
  const write = (node: string, line: string) =>
    process.stdout.write(`${pad(printable(node), width)} | ${printableLog(logs.redact(line), colour)}\n`);
  const stop = () => void logs.close();
  if (argv.follow) process.once('SIGINT', stop);
  try {
    for (const [node, why] of logs.unreachable) process.stderr.write(`${node}: unreachable: ${printable(why)}\n`);
    for (const failed of await logs.tail(write)) {
      const why = printable(logs.redact(failed.stderr.trim())) || `exit ${failed.code}`;
      process.stderr.write(`${failed.node}: no logs under ${logs.where} (${why})\n`);
    }
    if (logs.unreachable.size) process.exitCode = 1;
  } finally {
    process.off('SIGINT', stop);
    await logs.close();
  }
}
