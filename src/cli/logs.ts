import { UsageError } from '../errors.js';
import { count, type OptionSet, verb, withEnv } from './options.js';

export const options = {
  node: { type: 'string', array: true, describe: 'only these nodes' },
  follow: { alias: 'f', type: 'boolean', describe: 'keep following until Ctrl-C' },
  lines: { alias: 'n', ...count('-n/--lines', 'lines from the end of each file', 200) },
  grep: {
    type: 'string',
    describe: "search every node's logs for this text (a trace id, an error) instead of showing their end",
  },
  max: count('--max', 'with --grep: the newest matching lines shown per node', 100),
  regex: { type: 'boolean', describe: 'with --grep: the text is an extended regular expression' },
  'ignore-case': { type: 'boolean', describe: 'with --grep: match upper and lower case alike' },
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
  grep?: string;
  max: number;
  regex?: boolean;
  ignoreCase?: boolean;
}): Promise<void> {
  if (argv.grep !== undefined) return grepCommand(argv);
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

/** `deploy logs <env> --grep <text>`: every node searched at once, the node in front of each matching line. */
async function grepCommand(argv: Parameters<typeof logsCommand>[0]): Promise<void> {
  if (argv.follow) throw new UsageError('--grep searches the logs as they are: leave out -f');
  const { searchLogs } = await import('../app/logs.js');
  const { colourOn, displayWidth, pad, printable, printableLog } = await import('../log/listing.js');
  const colour = colourOn((argv.color ?? 'auto') as 'auto' | 'always' | 'never', process.stdout.isTTY);
  const { env, config, regex, ignoreCase, max } = argv;
  const found = await searchLogs({ env, config, nodes: argv.node, needle: argv.grep ?? '', max, regex, ignoreCase });
  const width = Math.max(...found.map((n) => displayWidth(printable(n.node))));
  for (const node of found) {
    for (const line of node.lines)
      process.stdout.write(`${pad(printable(node.node), width)} | ${printableLog(line, colour)}\n`);
  }
  for (const node of found) {
    if (node.error) process.stderr.write(`${node.node}: ${printable(node.error)}\n`);
    else if (node.more) process.stderr.write(`${node.node}: only the newest ${max} matching lines are shown (--max)\n`);
  }
  if (found.every((n) => n.lines.length === 0)) process.stderr.write(`no line matches on any node of ${env}\n`);
  if (found.some((n) => n.error)) process.exitCode = 1;
}
