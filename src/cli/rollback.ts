import { UsageError } from '../errors.js';
import { changingNodes } from '../log/changing.js';
import { type GlobalOptions, type OptionSet, verb, withEnv } from './options.js';

/** rollback's options; bin/rollback.ts parses the emergency button with these too, without yargs. */
export const options = {
  last: { type: 'boolean', describe: "each node's previous good release" },
  to: { type: 'string', describe: 'a release name or version still on disk' },
  emergency: { type: 'boolean', describe: 'all nodes at once: relink and restart only, no smoke gate, no drain' },
  force: {
    type: 'boolean',
    describe: 'roll back only the nodes that can; break a lock held by another run (journaled)',
  },
  reason: { type: 'string', describe: 'why, for the journal' },
  'allow-poison': {
    type: 'string',
    array: true,
    describe: 'roll back onto a release although it has this known bug without its fix (needs --reason)',
  },
  node: { type: 'string', array: true, describe: 'only these nodes' },
  'use-current-config': {
    type: 'boolean',
    describe: "restart, stop and smoke-test with today's config, not the settings each release kept",
  },
} as const satisfies OptionSet;

export interface RollbackArgs extends GlobalOptions {
  env: string;
  last?: boolean;
  to?: string;
  emergency?: boolean;
  force?: boolean;
  reason?: string;
  'allow-poison'?: string[];
  node?: string[];
  'use-current-config'?: boolean;
}

/** Exactly one of --last and --to says where to go. */
export const saysWhere = (a: { last?: boolean; to?: string }): boolean => Boolean(a.last) !== Boolean(a.to);

export const command = verb({
  command: 'rollback <env>',
  describe: 'put the previous good release back (also: rollback <env> --last)',
  builder: (y) =>
    withEnv(y)
      .options(options)
      .check((a) => {
        if (!saysWhere(a)) throw new UsageError('say where to go: --last or --to <release|version>');
        return true;
      }),
  handler: (argv) => rollbackCommand(argv),
});

export async function rollbackCommand(argv: RollbackArgs): Promise<void> {
  const { openRun } = await import('../app/compose.js');
  // From here to its end a closed stdout does not end the process (bin/quiet-pipe.ts).
  const ended = changingNodes();
  // The pipeline loads while the run opens (and its connections start).
  const pipeline = import('../app/deploy.js');
  pipeline.catch(() => undefined);
  const run = await openRun({ env: argv.env, config: argv.config, command: 'rollback', warm: { nodes: argv.node } });
  try {
    const { rollBack } = await pipeline;
    const target = argv.to ? ({ kind: 'to', spec: argv.to } as const) : ({ kind: 'last' } as const);
    const { emergency, force, reason } = argv;
    const useCurrentConfig = argv['use-current-config'];
    const allowPoison = argv['allow-poison'];
    await rollBack(run, { target, emergency, force, reason, nodes: argv.node, useCurrentConfig, allowPoison });
  } finally {
    await run.close();
    ended();
  }
}
