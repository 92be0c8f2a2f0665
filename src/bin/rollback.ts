#!/usr/bin/env node
// `rollback prod --last` is `deploy rollback prod --last`. As the emergency
// button it skips loading yargs (~100 ms here): its few options are parsed by
// node's own parseArgs. Anything else (--help, a typo, a missing --last/--to)
// goes to the full parser, with its usage messages.
import { parseArgs } from 'node:util';

const args = process.argv.slice(2);
let parsed: ReturnType<typeof parse> | undefined;
function parse() {
  return parseArgs({
    args,
    allowPositionals: true,
    strict: true,
    options: {
      last: { type: 'boolean' },
      to: { type: 'string' },
      emergency: { type: 'boolean' },
      force: { type: 'boolean' },
      reason: { type: 'string' },
      node: { type: 'string', multiple: true },
      config: { type: 'string' },
      verbose: { type: 'boolean' },
    },
  });
}
try {
  parsed = parse();
} catch {
  parsed = undefined;
}

if (parsed && parsed.positionals.length === 1 && Boolean(parsed.values.last) !== Boolean(parsed.values.to)) {
  const { values, positionals } = parsed;
  try {
    const { rollbackCommand } = await import('../cli/rollback.js');
    await rollbackCommand({ env: positionals[0]!, ...values });
  } catch (error) {
    const { report } = await import('../cli/report-error.js');
    process.exitCode = report(error, Boolean(values.verbose));
  }
} else {
  const { main } = await import('../cli/main.js');
  await main(['rollback', ...args]);
}
