#!/usr/bin/env node
// `rollback prod --last` is `deploy rollback prod --last`. As the emergency
// button it skips loading yargs (~100 ms here): its options, declared once in
// cli/rollback.ts, are parsed by node's own parseArgs, and a bare --help prints
// the text the build wrote. Anything else (a typo, a missing --last/--to) goes
// to the full parser, with its usage messages.
import { parseArgs } from 'node:util';
import { forParseArgs, globalOptions } from '../cli/options.js';
import { options, rollbackCommand, saysWhere } from '../cli/rollback.js';
import { quietOnClosedPipe } from './quiet-pipe.js';

quietOnClosedPipe();
const args = process.argv.slice(2);
if (args.length === 1 && (args[0] === '--help' || args[0] === '-h')) {
  // dist/rollback-help.txt, written by yargs at build time (as dist/help.txt for `deploy --help`).
  const { readFileSync, existsSync } = await import('node:fs');
  const help = new URL('../rollback-help.txt', import.meta.url);
  if (existsSync(help)) {
    process.stdout.write(readFileSync(help, 'utf8'));
    process.exit(0);
  }
}
function parse() {
  try {
    return parseArgs({
      args,
      allowPositionals: true,
      strict: true,
      options: forParseArgs({ ...options, ...globalOptions }),
    });
  } catch {
    return undefined;
  }
}
const parsed = parse();

if (parsed && parsed.positionals.length === 1 && saysWhere(parsed.values)) {
  const { values, positionals } = parsed;
  try {
    await rollbackCommand({ env: positionals[0]!, ...values });
  } catch (error) {
    const { report } = await import('../cli/report-error.js');
    process.exitCode = report(error, Boolean(values.verbose));
  }
} else {
  const { main } = await import('../cli/main.js');
  await main(['rollback', ...args]);
}
