#!/usr/bin/env node
// `deploy --help` is answered from the help text yargs generated at build
// time (dist/help.txt): printing it needs no module at all. Everything else
// goes through the real parser.
import { quietOnClosedPipe } from './quiet-pipe.js';

quietOnClosedPipe();
const args = process.argv.slice(2);
if (args.length === 1 && (args[0] === '--help' || args[0] === '-h')) {
  const { readFileSync, existsSync } = await import('node:fs');
  const help = new URL('../help.txt', import.meta.url);
  if (existsSync(help)) {
    process.stdout.write(readFileSync(help, 'utf8'));
    process.exit(0);
  }
}
const { main } = await import('../cli/main.js');
await main(args);
