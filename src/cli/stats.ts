import { type OptionSet, verb } from './options.js';

export const options = {
  since: { type: 'string', default: '30d', describe: 'window, e.g. 30d, 12h' },
  json: { type: 'boolean' },
} as const satisfies OptionSet;

export const command = verb({
  command: 'stats [env]',
  describe: 'deploys, successes, failures, rollbacks, success rate, durations, time to recover',
  builder: (y) => y.positional('env', { type: 'string', describe: 'one environment (default: all)' }).options(options),
  handler: (argv) => statsCommand(argv),
});

export async function statsCommand(argv: {
  env?: string;
  since: string;
  json?: boolean;
  config?: string;
}): Promise<void> {
  const { computeStats, mergeRuns, parseSince } = await import('../journal/history.js');
  const { knownEnvironments } = await import('../inventory/load.js');
  const { findConfigFile } = await import('../config/load.js');
  const { UsageError } = await import('../errors.js');
  const { journals, seconds } = await import('./journals.js');
  const path = await import('node:path');
  let window: number;
  try {
    window = parseSince(argv.since);
  } catch (error) {
    throw new UsageError((error as Error).message, { hint: 'e.g. --since 30d' });
  }
  const envs = argv.env ? [argv.env] : knownEnvironments(path.dirname(findConfigFile(process.cwd(), argv.config)));
  const cutoff = new Date(Date.now() - window).toISOString();
  const perEnv: Record<string, ReturnType<typeof computeStats>> = {};
  const all = [];
  for (const env of envs) {
    // A node in two environments journals the runs of both: each is counted in its own.
    const runs = mergeRuns((await journals(env, argv.config)).events).filter((r) => r.env === env && r.ts >= cutoff);
    perEnv[env] = computeStats(runs);
    all.push(...runs);
  }
  const total = computeStats(all);
  if (argv.json) {
    const body = argv.env ? perEnv[argv.env] : { total, environments: perEnv };
    process.stdout.write(`${JSON.stringify({ since: argv.since, ...body }, null, 2)}\n`);
    return;
  }
  const rows = argv.env
    ? [[argv.env, perEnv[argv.env]!] as const]
    : [...Object.entries(perEnv), ['all', total] as const];
  const { table } = await import('../log/listing.js');
  const day = (ts: string | null) => ts?.slice(0, 19).replace('T', ' ') ?? '-';
  process.stdout.write(`since ${argv.since}\n`);
  for (const [env, s] of rows) {
    const rate = s.successRate === null ? '-' : `${Math.round(s.successRate * 100)}%`;
    const aside = s.partial ? ` (${s.partial} with nodes set aside)` : '';
    const lines = table(
      [
        ['deploys', `${s.deploys}: ${s.successes} ok${aside}, ${s.failures} failed, ${s.interrupted} interrupted`],
        ['success rate', `${rate} (of the deploys that ran to an end)`],
        [
          'rollbacks',
          `${s.rollbacks}: ${s.rollbacksNormal} normal, ${s.rollbacksEmergency} emergency, ${s.rollbacksFailed} failed`,
        ],
        ['duration', `median ${seconds(s.medianMs)}, p95 ${seconds(s.p95Ms)}`],
        ['time to recover', `${seconds(s.mttrMs)} (mean, from a failed deploy to the next success)`],
        ['last success', day(s.lastSuccess)],
        ['last failure', day(s.lastFailure)],
        ['poison overrides', `${s.poisonOverrides} (released with a known bug allowed by --allow-poison)`],
        ['emergency releases', `${s.emergencyReleases} (outside the release windows, with --emergency)`],
      ],
      { indent: '  ' },
    );
    process.stdout.write(`${env}\n${lines.join('\n')}\n`);
  }
}
