import { type OptionSet, verb, withEnv } from './options.js';

export const options = {
  run: { type: 'string', describe: 'the run id of the freeze to lift' },
  force: { type: 'boolean' },
} as const satisfies OptionSet;

export const command = verb({
  command: 'unlock <env>',
  describe: "lift this machine's freeze (or --run's); --force breaks any lock, a running deploy's too (journaled)",
  builder: (y) => withEnv(y).options(options),
  handler: (argv) => unlockCommand(argv),
});

export async function unlockCommand(argv: {
  env: string;
  run?: string;
  force?: boolean;
  config?: string;
}): Promise<void> {
  const { openRun } = await import('./compose.js');
  const { observe } = await import('../pipeline/phases/observe.js');
  const { unfreeze } = await import('../pipeline/phases/freeze.js');
  const run = await openRun({ env: argv.env, config: argv.config, command: 'unlock', quiet: true, runLog: false });
  const seen = await observe(run.config, run.inventory, run.user, run.runId, run.deps);
  try {
    const command = `unlock ${argv.env}${argv.force ? ' --force' : ''}`;
    const released = await unfreeze(
      { ...seen, ctx: { ...seen.ctx, command } },
      run.stateDir,
      argv.run,
      Boolean(argv.force),
    );
    process.stdout.write(
      released.length ? `unlocked ${argv.env} on ${released.join(', ')}\n` : `${argv.env} was not locked\n`,
    );
    if (seen.unreachable.size) {
      process.stderr.write(`warning: not reached, still as they were: ${[...seen.unreachable.keys()].join(', ')}\n`);
      process.exitCode = 1;
    }
  } finally {
    await seen.close();
    await run.close();
  }
}
