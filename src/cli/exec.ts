import { UsageError } from '../errors.js';
import { globalOptions, type OptionSet, verb, withEnv } from './options.js';

/** `90`, `90s`, `5m`, `1h`, `500ms`: a duration, in ms; a bare number is seconds. */
export function parseDuration(name: string, value: unknown): number {
  const text = String(Array.isArray(value) ? value.at(-1) : value);
  const m = /^(\d+)(ms|s|m|h)?$/.exec(text);
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[m?.[2] ?? 's']!;
  const ms = m ? Number(m[1]) * unit : Number.NaN;
  if (!(ms >= 1000 && ms <= 86_400_000)) {
    throw new UsageError(`${name} takes a duration from 1s to 24h, such as 90s, 5m or 1h, not ${JSON.stringify(text)}`);
  }
  return ms;
}

/** Whole numbers of 1 or more, each (`--group 2 --group 3`). */
function wholeNumbers(name: string) {
  return (values: unknown): number[] =>
    [values].flat().map((v) => {
      const n = /^\d+$/.test(String(v)) ? Number(v) : Number.NaN;
      if (!(Number.isSafeInteger(n) && n >= 1)) {
        throw new UsageError(`${name} takes a whole number of 1 or more, not ${JSON.stringify(String(v))}`);
      }
      return n;
    });
}

export const options = {
  node: { type: 'string', array: true, describe: 'only these nodes' },
  role: { type: 'string', array: true, describe: 'only the nodes with this role (roles: in hosts/<env>.yaml)' },
  group: {
    type: 'string',
    array: true,
    describe: 'only this rollout group (1: the pre node, then groups of groupSize)',
    coerce: wholeNumbers('--group'),
  },
  in: {
    choices: ['deployTo', 'current'],
    default: 'deployTo',
    describe: 'run in deployTo, or in the release current points at',
  },
  timeout: {
    type: 'string',
    default: '5m',
    describe: 'deadline on each node (90s, 5m, 1h); the command is ended there after it',
    coerce: (v: unknown) => parseDuration('--timeout', v),
  },
  parallel: {
    type: 'string',
    describe: 'nodes at once (default: rollout.parallel)',
    coerce: (v: unknown) => wholeNumbers('--parallel')(v).at(-1),
  },
  force: { type: 'boolean', describe: 'run although the deploy lock is held (beside it; the lock is not taken)' },
  json: { type: 'boolean', describe: 'exit code and output of each node as JSON, after the end' },
} as const satisfies OptionSet;

export interface ExecArgs {
  env: string;
  command?: string[];
  '--'?: string[];
  node?: string[];
  role?: string[];
  group?: number[];
  in: string;
  timeout: number;
  parallel?: number;
  force?: boolean;
  json?: boolean;
  config?: string;
}

export const command = verb({
  command: 'exec <env> [command..]',
  describe: 'run a command on every node (after --), in parallel, node name in front of each line',
  builder: (y) =>
    withEnv(y)
      .parserConfiguration({ 'populate--': true })
      // Not strict: a command's own options given before `--` are caught by the handler, which says where they go.
      .strict(false)
      .positional('command', { type: 'string', array: true, describe: 'the command, after -- (see the examples)' })
      .usage('$0 exec <env> [options] -- <command>')
      .options(options)
      .example('$0 exec prod -- uname -a', 'the kernel of every node')
      .example("$0 exec prod --in current -- 'ls log | wc -l'", 'a shell line, in the current release'),
  handler: (argv) => execCommand(argv as unknown as ExecArgs),
});

/** What yargs may put in argv besides the options: anything else is an option the user meant for the command. */
const KNOWN = new Set([
  ...Object.keys(options),
  ...Object.keys(globalOptions),
  'env',
  'command',
  '--',
  '_',
  '$0',
  'help',
]);

/** The command given after `--`; bad input (exit 2) when it is missing or began before it. */
function commandWords(argv: ExecArgs): string[] {
  const words = argv['--'] ?? [];
  const early = argv.command ?? [];
  const stray = Object.keys(argv).filter((k) => !KNOWN.has(k));
  if (stray.length) {
    const named = stray.map((k) => (k.length === 1 ? `-${k}` : `--${k}`)).join(', ');
    throw new UsageError(`unknown option ${named}: the command and its options go after --`, {
      hint: `deploy exec ${argv.env} [options] -- <command>`,
    });
  }
  if (early.length) {
    throw new UsageError('the command goes after --', { hint: `deploy exec ${argv.env} -- ${early.join(' ')}` });
  }
  if (words.length === 0) {
    throw new UsageError('no command: give it after --', { hint: `deploy exec ${argv.env} -- uname -a` });
  }
  return words;
}

export async function execCommand(argv: ExecArgs): Promise<void> {
  const words = commandWords(argv);
  const { execExitCode, execOnEnv } = await import('../app/exec.js');
  const { displayWidth, pad, printable, seconds } = await import('../log/listing.js');
  let width = 0;
  const onNodes = (nodes: readonly string[]) => {
    width = Math.max(...nodes.map((n) => displayWidth(printable(n))));
  };
  // Redacted before it is escaped (app side): a secret is matched as the node printed it. A tab stays a tab.
  const onLine = (node: string, stream: 'stdout' | 'stderr', line: string) =>
    process[stream].write(`${pad(printable(node), width)} | ${printable(line, { tabs: true })}\n`);
  const report = await execOnEnv(
    {
      env: argv.env,
      config: argv.config,
      words,
      nodes: argv.node,
      roles: argv.role,
      groups: argv.group,
      in: argv.in === 'current' ? 'current' : 'deployTo',
      timeoutMs: argv.timeout,
      parallel: argv.parallel,
      force: argv.force,
    },
    argv.json ? {} : { onNodes, onLine },
  );
  process.exitCode = execExitCode(report);
  if (argv.json) {
    const { execJson, printJson } = await import('../app/shapes.js');
    return printJson(execJson, report);
  }
  const lines = report.nodes.map((n) => {
    const name = pad(printable(n.node), width);
    if (!n.ran) return `${name}  not run: ${printable(n.error)}`;
    const note = n.timedOut ? ` (timed out after ${seconds(report.timeoutMs)})` : n.interrupted ? ' (interrupted)' : '';
    return `${name}  exit ${n.code}${note}  ${seconds(n.ms)}`;
  });
  const failed = report.nodes.filter((n) => !n.ran || n.code !== 0).map((n) => printable(n.node));
  const total = report.nodes.length;
  const verdict = failed.length
    ? `failed on ${failed.length} of ${total} node${total === 1 ? '' : 's'}: ${failed.join(', ')}`
    : `exit 0 on ${total === 1 ? 'the node' : `all ${total} nodes`}`;
  process.stderr.write(`${lines.join('\n')}\n${verdict}\n`);
}
