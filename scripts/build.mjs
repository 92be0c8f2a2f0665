#!/usr/bin/env node
// The build (`npm run build`): compiles src/ with tsc, makes the bins that package.json names
// executable (tsc writes every file 0644), and writes the help texts `deploy --help` and
// `rollback --help` print without loading yargs.
//
//   node scripts/build.mjs [--out-dir DIR]
//
// The default is dist/. A second build beside the first (for RELINK_DIST) goes to --out-dir; one
// outside the tree gets a node_modules link so its imports resolve.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const { values } = parseArgs({ options: { 'out-dir': { type: 'string' } } });
const out = path.resolve(values['out-dir'] ?? path.join(root, 'dist'));

try {
  execFileSync(
    path.join(root, 'node_modules', '.bin', 'tsc'),
    ['-p', path.join(root, 'tsconfig.json'), '--outDir', out],
    {
      stdio: 'inherit',
    },
  );
} catch (error) {
  console.error(`build: tsc failed (exit ${error.status ?? '?'})`);
  process.exit(1);
}
const modules = path.join(out, 'node_modules');
if (path.relative(root, out).startsWith('..') && !fs.existsSync(modules)) {
  fs.symlinkSync(path.join(root, 'node_modules'), modules);
}
const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'));
for (const bin of Object.values(pkg.bin)) fs.chmodSync(path.join(out, path.relative('dist', bin)), 0o755);
for (const [bin, file] of [
  ['deploy.js', 'help.txt'],
  ['rollback.js', 'rollback-help.txt'],
]) {
  const help = execFileSync(process.execPath, [path.join(out, 'bin', bin), '--verbose', '--help']);
  fs.writeFileSync(path.join(out, file), help);
}
