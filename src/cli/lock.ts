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
  const env = argv.target === 'status' ? argv.env! : argv.target;
  if (argv.target === 'status') {
    const { locksOf, withObserved } = await import('../app/reads.js');
    await withObserved({ env, config: argv.config, command: 'lock status' }, async ({ seen }) => {
      const rows = locksOf(seen, new Date());
      if (argv.json) {
        const { locksJson, printJson } = await import('../app/shapes.js');
        printJson(locksJson, { env, nodes: rows });
      } else {
        const { table } = await import('../log/listing.js');
        const cells = rows.map((r) => [r.node, 'error' in r ? `UNREACHABLE: ${r.error}` : r.text]);
        process.stdout.write(`${table(cells).join('\n')}\n`);
      }
    });
    return;
  }
  const { freezeEnv } = await import('../app/freeze.js');
  const frozen = await freezeEnv({ env, config: argv.config, message: argv.message! });
  process.stdout.write(
    `${env} is frozen on ${frozen.nodes} node(s) (run ${frozen.run}): deploys refuse until: deploy unlock ${env}\n`,
  );
}
