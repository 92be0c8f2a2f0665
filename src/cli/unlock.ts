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
  const { unfreezeEnv } = await import('../app/freeze.js');
  const command = `unlock ${argv.env}${argv.force ? ' --force' : ''}`;
  const { released, unreachable } = await unfreezeEnv({ ...argv, command });
  process.stdout.write(
    released.length ? `unlocked ${argv.env} on ${released.join(', ')}\n` : `${argv.env} was not locked\n`,
  );
  if (unreachable.length) {
    process.stderr.write(`warning: not reached, still as they were: ${unreachable.join(', ')}\n`);
    process.exitCode = 1;
  }
}
