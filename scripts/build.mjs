#!/usr/bin/env node
// The build (`npm run build`): type-checks src/ and writes its declarations with tsc, bundles the bins
// and the package entry with rolldown, makes the bins that package.json names executable, and writes
// the help texts `deploy --help` and `rollback --help` print without loading yargs.
//
//   node scripts/build.mjs [--out-dir DIR]
//
// Why a bundle: every command used to load about 300 modules one by one, and resolving and compiling
// them cost about a third of a small deploy's CPU. The bundle keeps the lazy imports (each verb's code
// is a chunk of its own, loaded when the verb runs), so `deploy --help` stays fast. Packages loaded
// with require (node-ssh, yaml, jiti, ...) stay in node_modules.
//
// The default is dist/. A second build beside the first (for RELINK_DIST) goes to --out-dir; one
// outside the tree gets a node_modules link so its imports resolve.
import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { build } from 'rolldown';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const { values } = parseArgs({ options: { 'out-dir': { type: 'string' } } });
const out = path.resolve(values['out-dir'] ?? path.join(root, 'dist'));

fs.rmSync(out, { recursive: true, force: true });
try {
  execFileSync(
    path.join(root, 'node_modules', '.bin', 'tsc'),
    ['-p', path.join(root, 'tsconfig.json'), '--outDir', out, '--emitDeclarationOnly'],
    { stdio: 'inherit' },
  );
} catch (error) {
  console.error(`build: tsc failed (exit ${error.status ?? '?'})`);
  process.exit(1);
}
const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'));
const output = await build({
  cwd: root,
  input: {
    'bin/deploy': path.join(root, 'src', 'bin', 'deploy.ts'),
    'bin/rollback': path.join(root, 'src', 'bin', 'rollback.ts'),
    index: path.join(root, 'src', 'index.ts'),
  },
  platform: 'node',
  // Node's own modules, and the dependencies that must stay files of their own: ssh2 (native parts),
  // jiti (compiles the user's config with its own files), nodemailer (mail only, large). The rest is
  // bundled; npm still installs it (package.json's dependencies) for the declarations and for jiti.
  external: [/^node:/, /^(ssh2|jiti|nodemailer)(\/|$)/],
  output: { dir: out, format: 'esm', entryFileNames: '[name].js', chunkFileNames: 'chunks/[name]-[hash].js' },
  logLevel: 'warn',
});
// The build's identity: a cache of validated configs never trusts what an older build validated.
const hash = crypto.createHash('sha256');
for (const chunk of output.output) if (chunk.type === 'chunk') hash.update(chunk.fileName).update(chunk.code);
fs.writeFileSync(path.join(out, 'build-id'), `${hash.digest('hex').slice(0, 16)}\n`);
const modules = path.join(out, 'node_modules');
if (path.relative(root, out).startsWith('..') && !fs.existsSync(modules)) {
  fs.symlinkSync(path.join(root, 'node_modules'), modules);
}
for (const bin of Object.values(pkg.bin)) fs.chmodSync(path.join(out, path.relative('dist', bin)), 0o755);
for (const [bin, file] of [
  ['deploy.js', 'help.txt'],
  ['rollback.js', 'rollback-help.txt'],
]) {
  const help = execFileSync(process.execPath, [path.join(out, 'bin', bin), '--verbose', '--help']);
  fs.writeFileSync(path.join(out, file), help);
}
