#!/usr/bin/env node
// `npm run docs`: writes docs/reference/*.md and docs/schema/*.json, generated from the code by
// scripts/docs/generate.ts (loaded with jiti, so no build is needed). `--check` writes nothing and
// exits 1 when a committed file is stale (test/unit/docs.test.ts checks the same).
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createJiti } from 'jiti';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const jiti = createJiti(import.meta.url, { moduleCache: false, fsCache: false });
const { generate } = await jiti.import(path.join(root, 'scripts', 'docs', 'generate.ts'));
const check = process.argv.includes('--check');
const stale = [];
for (const [file, text] of generate()) {
  const target = path.join(root, file);
  const now = fs.existsSync(target) ? fs.readFileSync(target, 'utf8') : undefined;
  if (now === text) continue;
  stale.push(file);
  if (check) continue;
  fs.mkdirSync(path.dirname(target), { recursive: true });
  fs.writeFileSync(target, text);
}
if (check && stale.length) {
  console.error(`stale: ${stale.join(', ')}\nrun: npm run docs`);
  process.exit(1);
}
console.log(stale.length ? `${check ? 'stale' : 'wrote'}: ${stale.join(', ')}` : 'docs are up to date');
