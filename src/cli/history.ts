import { count, type OptionSet, verb, withEnv } from './options.js';

export const options = {
  n: count('-n', 'rows', 20),
  json: { type: 'boolean' },
} as const satisfies OptionSet;

export const command = verb({
  command: 'history <env>',
  describe: 'one row per run, from the nodes: when, who, command, version, result, duration, nodes',
  builder: (y) => withEnv(y).options(options),
  handler: (argv) => historyCommand(argv),
});

export async function historyCommand(argv: { env: string; n: number; json?: boolean; config?: string }): Promise<void> {
  const { mergeRuns } = await import('../journal/history.js');
  const { journals, seconds } = await import('./journals.js');
  const { events } = await journals(argv.env, argv.config);
  const runs = mergeRuns(events).slice(0, Math.max(0, argv.n));
  if (argv.json) {
    process.stdout.write(`${JSON.stringify({ env: argv.env, runs }, null, 2)}\n`);
    return;
  }
  if (runs.length === 0) process.stdout.write(`no runs recorded on the nodes of ${argv.env}\n`);
  for (const r of runs) {
    const when = r.ts.replace('T', ' ').slice(0, 19);
    process.stdout.write(
      `${when}  ${r.user.slice(0, 16).padEnd(16)} ${r.command.padEnd(28)} ${(r.version ?? '-').padEnd(10)} ` +
        `${r.result.padEnd(11)} ${seconds(r.ms).padStart(7)}  ${r.nodes.length} node(s)\n`,
    );
  }
}
