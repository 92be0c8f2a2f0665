import { type OptionSet, verb, withEnv } from './options.js';

export const options = {
  author: { type: 'string' },
  node: { type: 'string', array: true },
  json: { type: 'boolean', describe: 'machine-readable output' },
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
  config?: string;
}): Promise<void> {
  const { openRun } = await import('./compose.js');
  const { planDeploy } = await import('../pipeline/run.js');
  const { formatPlan } = await import('../pipeline/phases/plan.js');
  const run = await openRun({ env: argv.env, config: argv.config, author: argv.author, command: 'plan', quiet: true });
  try {
    const plan = await planDeploy(
      {
        config: run.config,
        inventory: run.inventory,
        version: argv.version,
        user: run.user,
        runId: run.runId,
        stateDir: run.stateDir,
        secrets: run.secrets(),
        nodes: argv.node,
      },
      run.deps,
      run.source,
    );
    process.stdout.write(`${argv.json ? JSON.stringify(plan, null, 2) : formatPlan(plan)}\n`);
  } finally {
    await run.close();
  }
}
