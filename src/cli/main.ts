import type { Argv } from 'yargs';
import { EXIT, UsageError } from '../errors.js';

/** Options every command shares. */
export interface GlobalOptions {
  config?: string;
  verbose?: boolean;
}

function env(y: Argv) {
  return y.positional('env', { type: 'string', describe: 'environment: a hosts/<env>.yaml file', demandOption: true });
}

/**
 * The command line. Handlers import their module only when they run, so
 * `deploy --help` loads nothing but yargs.
 */
export async function main(args: string[]): Promise<void> {
  const { default: yargs } = await import('yargs');
  const cli = yargs(args)
    .scriptName('deploy')
    .usage('$0 <env> <version>      build a git tag once, ship it to every node of <env>, switch group by group')
    .option('config', { type: 'string', describe: 'path to deploy.config.ts (default: nearest one above the cwd)' })
    .option('verbose', { type: 'boolean', describe: 'print stack traces of errors' })
    .command(
      '$0 <env> <version>',
      'deploy a version (a tag; in dev/test also a branch or commit)',
      (y) =>
        env(y)
          .positional('version', { type: 'string', demandOption: true, describe: 'tag to release, e.g. v1.1.0' })
          .option('author', { type: 'string', describe: 'name in the release name and journal (default: git config user.name)' })
          .option('on-failure', { choices: ['rollback', 'halt'] as const, describe: 'after a failed node: roll back switched nodes, or halt for inspection' })
          .option('node', { type: 'string', array: true, describe: 'only these nodes' })
          .option('allow-poison', { type: 'string', array: true, describe: 'release anyway although it contains this known bug (needs --reason)' })
          .option('emergency', { type: 'boolean', describe: 'outside the release windows: go ahead anyway (needs --reason); journaled' })
          .option('reason', { type: 'string', describe: 'why, for the journal' }),
      async (argv) => (await import('./deploy.js')).deployCommand(argv),
    )
    .command(
      'plan <env> <version>',
      'print every step per node of a deploy; changes nothing',
      (y) =>
        env(y)
          .positional('version', { type: 'string', demandOption: true })
          .option('author', { type: 'string' })
          .option('node', { type: 'string', array: true })
          .option('json', { type: 'boolean', describe: 'machine-readable output' }),
      async (argv) => (await import('./plan.js')).planCommand(argv),
    )
    .command(
      'rollback <env>',
      'put the previous good release back (also: rollback <env> --last)',
      (y) =>
        env(y)
          .option('last', { type: 'boolean', describe: "each node's previous good release" })
          .option('to', { type: 'string', describe: 'a release name or version still on disk' })
          .option('emergency', { type: 'boolean', describe: 'all nodes at once: relink and restart only, no smoke gate, no drain' })
          .option('force', { type: 'boolean', describe: 'roll back only the nodes that can; break a lock held by another run (journaled)' })
          .option('reason', { type: 'string', describe: 'why, for the journal' })
          .option('node', { type: 'string', array: true, describe: 'only these nodes' })
          .check((a) => {
            if (Boolean(a.last) === Boolean(a.to)) throw new UsageError('say where to go: --last or --to <release|version>');
            return true;
          }),
      async (argv) => (await import('./rollback.js')).rollbackCommand(argv),
    )
    .command(
      'releases <env>',
      'every release on disk per node: good, bad, current, version, commit, age',
      (y) => env(y).option('json', { type: 'boolean' }).option('node', { type: 'string', array: true }),
      async (argv) => (await import('./releases.js')).releasesCommand(argv),
    )
    .command(
      'status <env>',
      'per node: current release, version, commit, since, health, lock; warns on drift',
      (y) =>
        env(y)
          .option('json', { type: 'boolean' })
          .option('check', { type: 'boolean', describe: 'exit non-zero when nodes drift or one is unhealthy or unreachable' })
          .option('node', { type: 'string', array: true }),
      async (argv) => (await import('./status.js')).statusCommand(argv),
    )
    .command(
      'logs <env>',
      'the application log of the nodes, node name in front of each line',
      (y) =>
        env(y)
          .option('node', { type: 'string', array: true, describe: 'only these nodes' })
          .option('follow', { alias: 'f', type: 'boolean', describe: 'keep following until Ctrl-C' })
          .option('lines', { alias: 'n', type: 'number', default: 200, describe: 'lines from the end of each file' }),
      async (argv) => (await import('./logs.js')).logsCommand(argv),
    )
    .command(
      'lock <target> [env]',
      'freeze an environment (deploy lock prod -m "reason"), or show its locks (deploy lock status prod)',
      (y) =>
        y
          .positional('target', { type: 'string', demandOption: true, describe: 'the environment to freeze, or "status"' })
          .positional('env', { type: 'string', describe: 'with "status": the environment' })
          .option('message', { alias: 'm', type: 'string', describe: 'why deploys are frozen' })
          .option('json', { type: 'boolean' })
          .check((a) => {
            if (a.target === 'status' && !a.env) throw new UsageError('name the environment: deploy lock status <env>');
            if (a.target !== 'status' && !a.message) throw new UsageError('say why: deploy lock <env> -m "reason"');
            return true;
          }),
      async (argv) => (await import('./lock.js')).lockCommand(argv),
    )
    .command(
      'unlock <env>',
      "release this machine's freeze or a given run's lock; --force releases any lock (journaled)",
      (y) => env(y).option('run', { type: 'string', describe: 'the run id that holds the lock' }).option('force', { type: 'boolean' }),
      async (argv) => (await import('./lock.js')).unlockCommand(argv),
    )
    .command(
      'history <env>',
      'one row per run, from the nodes: when, who, command, version, result, duration, nodes',
      (y) => env(y).option('n', { type: 'number', default: 20, describe: 'rows' }).option('json', { type: 'boolean' }),
      async (argv) => (await import('./history.js')).historyCommand(argv),
    )
    .command(
      'stats [env]',
      'deploys, successes, failures, rollbacks, success rate, durations, time to recover',
      (y) =>
        y
          .positional('env', { type: 'string', describe: 'one environment (default: all)' })
          .option('since', { type: 'string', default: '30d', describe: 'window, e.g. 30d, 12h' })
          .option('json', { type: 'boolean' }),
      async (argv) => (await import('./history.js')).statsCommand(argv),
    )
    .command(
      'poison <target> [id]',
      'record a known bug at the commit that brought it in (poison <commit> -m "..."), or: poison list, poison show <id>',
      (y) =>
        y
          .positional('target', { type: 'string', demandOption: true, describe: 'a commit, or "list" / "show"' })
          .positional('id', { type: 'string', describe: 'with "show": the record id' })
          .option('message', { alias: 'm', type: 'string', describe: 'what the bug is' })
          .option('ticket', { type: 'string', describe: 'issue tracker reference' })
          .option('open', { type: 'boolean', describe: 'with "list": only records without a cure' })
          .option('json', { type: 'boolean' }),
      async (argv) => (await import('./poison.js')).poisonCommand(argv),
    )
    .command(
      'cure <id> <fix>',
      'record the commit that fixes a poisoned bug',
      (y) => y.positional('id', { type: 'string', demandOption: true }).positional('fix', { type: 'string', demandOption: true }),
      async (argv) => (await import('./poison.js')).cureCommand(argv),
    )
    .command(
      'check <rev>',
      '"healthy", or the known bugs in the history of <rev> without their fix (exit 3)',
      (y) => y.positional('rev', { type: 'string', demandOption: true }).option('json', { type: 'boolean' }),
      async (argv) => (await import('./poison.js')).checkCommand(argv),
    )
    .command(
      'impact <id>',
      'every environment and node whose current release contains the bug without its fix',
      (y) => y.positional('id', { type: 'string', demandOption: true }).option('json', { type: 'boolean' }),
      async (argv) => (await import('./poison.js')).impactCommand(argv),
    )
    .command(
      'doctor <env>',
      'checks before a release, per node: ssh and host keys, deployTo, disk, tools, clock, lock, load balancer',
      (y) => env(y).option('json', { type: 'boolean' }),
      async (argv) => (await import('./doctor.js')).doctorCommand(argv),
    )
    .command(
      'report <run>',
      'print the Markdown report of a deploy or rollback (a run id, or "last")',
      (y) => y.positional('run', { type: 'string', demandOption: true }),
      async (argv) => (await import('./report.js')).reportCommand(argv),
    )
    .command(
      'schedule',
      'run the configured release schedules in the foreground (or --list, --crontab, --run-once <name>)',
      (y) =>
        y
          .option('list', { type: 'boolean', describe: 'print the next fire times and the version each would take' })
          .option('crontab', { type: 'boolean', describe: 'print lines for the system cron instead of running' })
          .option('run-once', { type: 'string', describe: 'resolve and deploy one schedule entry now' }),
      async (argv) => (await import('./schedule.js')).scheduleCommand(argv),
    )
    .example('$0 prod v1.1.0', 'release v1.1.0 to prod: pre node first, then the groups')
    .example('$0 plan prod v1.1.0', 'show what that would do')
    .example('rollback prod --last', 'the emergency button: previous good release on every node')
    .strict()
    .demandCommand(1, 'name an environment and a version, e.g.: deploy prod v1.1.0')
    .recommendCommands()
    .help()
    .alias('h', 'help')
    .version(false)
    .wrap(Math.min(110, process.stdout.columns || 100))
    .fail(false);
  try {
    await cli.parseAsync();
  } catch (error) {
    const { report } = await import('./report-error.js');
    process.exitCode = report(error, args.includes('--verbose'));
    if (process.exitCode === EXIT.usage && !(error as { exitCode?: number }).exitCode) process.stderr.write('\nrun deploy --help for usage\n');
  }
}
