import { EXIT } from '../errors.js';
import * as analyze from './analyze.js';
import * as announce from './announce.js';
import * as approve from './approve.js';
import * as check from './check.js';
import * as cure from './cure.js';
import * as deploy from './deploy.js';
import * as doctor from './doctor.js';
import * as exec from './exec.js';
import * as history from './history.js';
import * as impact from './impact.js';
import * as init from './init.js';
import * as lock from './lock.js';
import * as logs from './logs.js';
import { globalOptions, helpWidth, type Verb } from './options.js';
import * as plan from './plan.js';
import * as poison from './poison.js';
import * as releases from './releases.js';
import * as report from './report.js';
import * as request from './request.js';
import * as rollback from './rollback.js';
import * as schedule from './schedule.js';
import * as serve from './serve.js';
import * as stats from './stats.js';
import * as status from './status.js';
import * as unlock from './unlock.js';

/**
 * The verbs, in the order of `deploy --help`. Each module declares its command, options and handler;
 * handlers import the heavy modules only when they run, so parsing loads yargs and these small files.
 * Every verb's `--help` ends with the exit codes; `deploy --help` is the default verb's (`$0 <env> <version>`).
 */
const verbs: readonly { command: Verb }[] = [
  deploy,
  plan,
  analyze,
  announce,
  request,
  approve,
  rollback,
  releases,
  status,
  logs,
  exec,
  lock,
  unlock,
  history,
  stats,
  poison,
  cure,
  check,
  impact,
  doctor,
  report,
  schedule,
  serve,
  init,
];

/** The command line. */
export async function main(args: string[]): Promise<void> {
  const { default: yargs } = await import('yargs');
  const cli = yargs(args)
    .scriptName('deploy')
    .usage('$0 <env> <version>      build a git tag once, ship it to every node of <env>, switch group by group')
    .options(globalOptions)
    .command(verbs.map((v) => v.command))
    .example('$0 prod v1.1.0', 'release v1.1.0 to prod: pre node first, then the groups')
    .example('$0 plan prod v1.1.0', 'show what that would do')
    .example('rollback prod --last', 'the emergency button: previous good release on every node')
    .strict()
    .demandCommand(1, 'name an environment and a version, e.g.: deploy prod v1.1.0')
    .recommendCommands()
    .help()
    .alias('h', 'help')
    .version(false)
    // yargs renders the running verb's help whether it is shown or not (it keeps it for later): unwrapped, that
    // costs a few milliseconds instead of ~50 per command. A help that is shown is wrapped to the terminal.
    .wrap(args[0] === 'help' || args.some((a) => a === '--help' || a === '-h') ? helpWidth() : null)
    .fail(false);
  try {
    await cli.parseAsync();
  } catch (error) {
    const errors = await import('./report-error.js');
    process.exitCode = errors.report(error, args.includes('--verbose'));
    if (process.exitCode === EXIT.usage && !(error as { exitCode?: number }).exitCode) {
      process.stderr.write('\nrun deploy --help for usage\n');
    }
  }
}
