import { type OptionSet, verb } from './options.js';

export const options = {
  since: { type: 'string', default: '30d', describe: 'window, e.g. 30d, 12h' },
  json: { type: 'boolean' },
} as const satisfies OptionSet;

export const command = verb({
  command: 'stats [env]',
  describe: "deploys, successes, failures, rollbacks, success rate, durations, time to recover, DORA's four keys",
  builder: (y) => y.positional('env', { type: 'string', describe: 'one environment (default: all)' }).options(options),
  handler: (argv) => statsCommand(argv),
});

type DoraKeys = NonNullable<Awaited<ReturnType<typeof import('../app/history.js').stats>>['total']['dora']>;

/** DORA's four keys as lines of the table: value, unit and band. */
function doraRows(dora: DoraKeys): [string, string][] {
  const shown = (k: DoraKeys[keyof DoraKeys], digits: number, what: string) => {
    if (k.value === null) return `- (${what})`;
    const value = k.unit === 'ratio' ? `${Math.round(k.value * 100)}%` : `${k.value.toFixed(digits)} ${k.unit}`;
    return `${value}, ${k.band} (${what})`;
  };
  return [
    ['deployment frequency', shown(dora.deployment_frequency, 2, 'successful deploys per day')],
    ['lead time for changes', shown(dora.lead_time_for_changes, 1, 'median, first commit to deploy')],
    ['change failure rate', shown(dora.change_failure_rate, 0, 'failed or rolled back within the window')],
    ['time to restore', shown(dora.time_to_restore_service, 1, 'median, failure to the next release out')],
  ];
}

export async function statsCommand(argv: {
  env?: string;
  since: string;
  json?: boolean;
  config?: string;
}): Promise<void> {
  const { environments, sinceMs, stats } = await import('../app/history.js');
  const { printable, seconds, table } = await import('../log/listing.js');
  sinceMs(argv.since);
  const envs = argv.env ? [argv.env] : environments(argv.config);
  const warn = (env: string, node: string, why: string) =>
    process.stderr.write(`warning: ${env}/${node} unreachable, its journal is not counted: ${printable(why)}\n`);
  const { perEnv, total } = await stats(envs, argv.since, argv.config, warn);
  if (argv.json) {
    const { allStatsJson, envStatsJson, printJson } = await import('../app/shapes.js');
    if (argv.env) printJson(envStatsJson, { since: argv.since, ...perEnv[argv.env]! });
    else printJson(allStatsJson, { since: argv.since, total, environments: perEnv });
    return;
  }
  const rows = argv.env
    ? [[argv.env, perEnv[argv.env]!] as const]
    : [...Object.entries(perEnv), ['all', total] as const];
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
        ['analyses skipped', `${s.analysisSkips} (released with --skip-analysis)`],
        ...(s.dora ? doraRows(s.dora) : []),
      ],
      { indent: '  ' },
    );
    process.stdout.write(`${env}\n${lines.join('\n')}\n`);
  }
}
