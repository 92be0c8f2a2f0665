import { UsageError } from '../errors.js';
import { type OptionSet, verb } from './options.js';

export const options = {
  message: { alias: 'm', type: 'string', describe: 'why deploys are frozen' },
  json: { type: 'boolean' },
} as const satisfies OptionSet;

export const command = verb({
  command: 'lock <target> [env]',
  describe: 'freeze an environment (deploy lock prod -m "reason"), or show its locks (deploy lock status prod)',
  builder: (y) =>
    y
      .positional('target', { type: 'string', demandOption: true, describe: 'the environment to freeze, or "status"' })
      .positional('env', { type: 'string', describe: 'with "status": the environment' })
      .options(options)
      .check((a) => {
        if (a.target === 'status' && !a.env) throw new UsageError('name the environment: deploy lock status <env>');
        if (a.target !== 'status' && !a.message) throw new UsageError('say why: deploy lock <env> -m "reason"');
        return true;
      }),
  handler: (argv) => lockCommand(argv),
});

export async function lockCommand(argv: {
  target: string;
  env?: string;
  message?: string;
  json?: boolean;
  config?: string;
}): Promise<void> {
  const { openRun } = await import('./compose.js');
  const { observe } = await import('../pipeline/phases/observe.js');
  const env = argv.target === 'status' ? argv.env! : argv.target;
  const run = await openRun({ env, config: argv.config, command: 'lock', quiet: true, runLog: false });
  const seen = await observe(run.config, run.inventory, run.user, run.runId, run.deps);
  try {
    if (argv.target === 'status') {
      const { lockRow } = await import('../pipeline/phases/node-rows.js');
      const now = new Date();
      const rows = seen.nodes.map((node) => lockRow(seen.ctx, node, seen.unreachable.get(node.name), now));
      if (argv.json) {
        process.stdout.write(`${JSON.stringify({ env, nodes: rows }, null, 2)}\n`);
      } else {
        const { table } = await import('../log/listing.js');
        const cells = rows.map((r) => [r.node, 'error' in r ? `UNREACHABLE: ${r.error}` : r.text]);
        process.stdout.write(`${table(cells).join('\n')}\n`);
      }
      return;
    }
    const { freeze } = await import('../pipeline/phases/freeze.js');
    const id = await freeze(
      { ...seen, ctx: { ...seen.ctx, command: `lock ${env} -m ${JSON.stringify(argv.message)}` } },
      run.stateDir,
      argv.message!,
    );
    process.stdout.write(
      `${env} is frozen on ${seen.nodes.length} node(s) (run ${id}): deploys refuse until: deploy unlock ${env}\n`,
    );
  } finally {
    await seen.close();
    await run.close();
  }
}
