import { type OptionSet, verb, withEnv } from './options.js';

export const options = {
  json: { type: 'boolean' },
  check: {
    type: 'boolean',
    describe: 'exit non-zero when nodes drift, one is unhealthy or unreachable, or a shared link became a file or dir',
  },
  node: { type: 'string', array: true },
} as const satisfies OptionSet;

export const command = verb({
  command: 'status <env>',
  describe: 'per node: current release, version, commit, since, health, lock; warns on drift',
  builder: (y) => withEnv(y).options(options),
  handler: (argv) => statusCommand(argv),
});

export async function statusCommand(argv: {
  env: string;
  json?: boolean;
  check?: boolean;
  node?: string[];
  config?: string;
}): Promise<void> {
  const { observeEnv, setAsideOf, statusOf } = await import('../app/reads.js');
  const { commandLine, nextStep } = await import('../app/phrase.js');
  const { run, seen, close } = await observeEnv({
    env: argv.env,
    config: argv.config,
    command: 'status',
    nodes: argv.node,
  });
  try {
    const { rows, groups, drift: drifted } = await statusOf(seen, new Date());
    const unhealthy = rows.filter((r) => !r.healthy);
    const pending = setAsideOf(seen);
    const env = run.config.env;
    const setAside = pending?.nodes.length
      ? { ...pending, retry: commandLine(nextStep('deploy', env, { 'retry-failed': true }, [pending.version])) }
      : undefined;
    if (argv.json) {
      const { printJson, statusJson } = await import('../app/shapes.js');
      printJson(statusJson, { env, drift: drifted, setAside, nodes: rows });
    } else {
      const { displayWidth, printable, table } = await import('../log/listing.js');
      const cells = rows.map((r) => {
        if (!r.reachable)
          return [r.node, `UNREACHABLE  ${r.error}${setAside?.nodes.includes(r.node) ? ' (set aside)' : ''}`];
        const since = r.since ? `since ${r.since.replace('T', ' ').slice(0, 19)}` : '';
        const health = r.healthy ? `healthy${run.config.smoke ? '' : ' (no smoke test configured)'}` : 'UNHEALTHY';
        const unrecorded = r.unrecorded ? '(not in the journal: relinked by hand?)' : '';
        const aside = setAside?.nodes.includes(r.node) ? `SET ASIDE by run ${setAside.run}` : '';
        return [
          r.node,
          r.version ?? '?',
          (r.commit ?? '').slice(0, 10),
          health,
          r.current ?? '(none)',
          since,
          [unrecorded, aside].filter(Boolean).join(' '),
        ];
      });
      const under = ' '.repeat(Math.max(...rows.map((r) => displayWidth(printable(r.node)))) + 2);
      for (const [i, line] of table(cells).entries()) {
        const r = rows[i]!;
        const problem = r.reachable && !r.healthy ? `\n${under}${printable(r.health)}` : '';
        const locked = r.reachable && r.lock ? `\n${under}locked by ${printable(r.lock)}` : '';
        const shared = (r.reachable && r.shared ? r.shared : []).map((w) => `\n${under}SHARED: ${printable(w)}`);
        const unit = run.config.service?.unit;
        const shown = r.reachable && r.service && !(problem && r.health.includes(`service ${unit}:`));
        const service = shown ? `\n${under}service ${unit}: ${printable(r.service!)}` : '';
        process.stdout.write(`${line}${problem}${service}${locked}${shared.join('')}\n`);
      }
      if (setAside) {
        const names = setAside.nodes.join(', ');
        const what = `${names} set aside by run ${setAside.run} (${setAside.version}, rollout.maxFailures)`;
        process.stdout.write(`warning: ${what}; once they are back: ${setAside.retry}\n`);
      }
      if (drifted) {
        process.stdout.write(`warning: drift: the nodes run ${groups.size} different releases:\n`);
        for (const [release, nodes] of groups) {
          process.stdout.write(`  ${printable(release)}: ${nodes.map((n) => printable(n)).join(', ')}\n`);
        }
      }
    }
    const replaced = rows.filter((r) => r.reachable && r.shared?.length);
    if (replaced.length && !argv.json) {
      const names = replaced.map((r) => r.node).join(', ');
      process.stdout.write(
        `warning: shared link(s) on ${names} became a file or dir: the next deploy refuses; --adopt-shared ` +
          'moves the data into shared/\n',
      );
    }
    if (argv.check && (drifted || unhealthy.length || replaced.length)) process.exitCode = 1;
  } finally {
    await close();
  }
}
