import { type OptionSet, verb, withEnv } from './options.js';

export const options = {
  author: { type: 'string' },
  node: { type: 'string', array: true },
  json: { type: 'boolean', describe: 'machine-readable output' },
  'adopt-shared': { type: 'boolean', describe: 'plan as `deploy --adopt-shared` would run' },
} as const satisfies OptionSet;

export const command = verb({
  command: 'plan <env> <version>',
  describe: 'print every step per node of a deploy; changes nothing',
  builder: (y) => withEnv(y).positional('version', { type: 'string', demandOption: true }).options(options),
  handler: (argv) => planCommand(argv),
});

export async function planCommand(argv: {
  env: string;
  version: string;
  author?: string;
  node?: string[];
  json?: boolean;
  adoptShared?: boolean;
  config?: string;
}): Promise<void> {
  const { openRun } = await import('../app/compose.js');
  const { formatPlan, planRelease } = await import('../app/deploy.js');
  const run = await openRun({ env: argv.env, config: argv.config, author: argv.author, command: 'plan', quiet: true });
  try {
    const plan = await planRelease(run, { version: argv.version, nodes: argv.node, adoptShared: argv.adoptShared });
    if (argv.json) {
      const { planJson, printJson } = await import('../app/shapes.js');
      printJson(planJson, plan);
    } else process.stdout.write(`${formatPlan(plan)}\n`);
  } finally {
    await run.close();
  }
}
