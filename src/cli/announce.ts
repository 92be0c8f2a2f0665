import { type GlobalOptions, type OptionSet, verb, withEnv } from './options.js';

export const options = {
  at: {
    type: 'string',
    describe:
      "when it is to start: '2026-12-08 17:00' (the environment's time zone) or an ISO time; default: the next window",
  },
  author: { type: 'string', describe: 'who announces it (default: git config user.name)' },
  json: { type: 'boolean', describe: 'machine-readable output' },
} as const satisfies OptionSet;

export interface AnnounceArgs extends GlobalOptions {
  env: string;
  version: string;
  at?: string;
  author?: string;
  json?: boolean;
}

export const command = verb({
  command: 'announce <env> <version>',
  describe: 'announce a release ahead: its plan recorded, written as Markdown and sent to the notify channels',
  builder: (y) => withEnv(y).positional('version', { type: 'string', demandOption: true }).options(options),
  handler: (argv) => announceCommand(argv),
});

export async function announceCommand(argv: AnnounceArgs): Promise<void> {
  const { openRun } = await import('../app/compose.js');
  const { announceRelease } = await import('../app/announce.js');
  const run = await openRun({
    env: argv.env,
    config: argv.config,
    author: argv.author,
    command: 'announce',
    quiet: true,
  });
  try {
    const announced = await announceRelease(run, { version: argv.version, at: argv.at });
    if (argv.json) {
      const { announceJson, printJson } = await import('../app/shapes.js');
      printJson(announceJson, announced);
      return;
    }
    process.stdout.write(`${announced.markdown}\n`);
    const shared = 'recorded on refs/relink/announcements';
    process.stdout.write(`announced ${announced.plan.id}: ${shared}, plan written to ${announced.file}\n`);
  } finally {
    await run.close();
  }
}
