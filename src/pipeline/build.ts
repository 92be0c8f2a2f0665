import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { ResolvedConfig } from '../config/types.js';
import { RelinkError } from '../errors.js';
import type { Reporter } from '../log/events.js';
import type { GitMirror } from '../transport/git.js';
import { runLocal } from '../transport/local.js';
import type { Artifact, VersionInfo } from './context.js';

export function artifactKey(config: ResolvedConfig, version: VersionInfo): string {
  const inputs = { commit: version.commit, version: version.version, build: config.build };
  return crypto.createHash('sha256').update(JSON.stringify(inputs)).digest('hex').slice(0, 16);
}

async function sha256File(file: string): Promise<string> {
  const hash = crypto.createHash('sha256');
  for await (const chunk of fs.createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/**
 * Builds the release tarball once per commit and build settings, in a clean
 * export of the commit, and keeps it in `.relink/artifacts/` so that the same
 * commit deployed to another environment is not built again. Per-environment
 * settings come from templates at deploy time, never from the build.
 */
export async function buildArtifact(config: ResolvedConfig, stateDir: string, mirror: GitMirror, version: VersionInfo, reporter: Reporter): Promise<Artifact> {
  const dir = path.join(stateDir, 'artifacts');
  const key = artifactKey(config, version);
  const file = path.join(dir, `${config.project}-${key}.tar.gz`);
  const metaFile = `${file}.json`;
  if (fs.existsSync(file) && fs.existsSync(metaFile)) {
    const meta = JSON.parse(fs.readFileSync(metaFile, 'utf8')) as { sha256: string; bytes: number };
    return { file, sha256: meta.sha256, bytes: meta.bytes, cached: true };
  }
  fs.mkdirSync(dir, { recursive: true });
  const work = fs.mkdtempSync(path.join(dir, `.build-${key}-`));
  try {
    const src = path.join(work, 'src');
    fs.mkdirSync(src);
    await mirror.export(version.commit, src);
    if (config.build.command) {
      const env = { ...process.env, ...config.build.env, RELINK_VERSION: version.version, RELINK_COMMIT: version.commit, RELINK_PROJECT: config.project };
      const result = await runLocal('sh', ['-c', config.build.command], { cwd: src, env, timeoutMs: config.build.timeoutMs });
      if (result.code !== 0) {
        throw new RelinkError(`build failed (exit ${result.code}): ${config.build.command}\n  ${result.stderr.trim().split('\n').slice(-8).join('\n  ')}`, {
          hint: 'fix the build, tag a new version and deploy that',
        });
      }
      for (const line of result.stdout.trim().split('\n').filter(Boolean).slice(-3)) reporter.emit({ type: 'info', message: `build: ${line}` });
    }
    const out = path.resolve(src, config.build.output);
    if (!fs.existsSync(out)) throw new RelinkError(`build output "${config.build.output}" does not exist after the build`, { hint: 'fix build.output in deploy.config.ts' });
    const { c } = await import('tar');
    const tmp = path.join(work, 'release.tar.gz');
    // Level 1: releases are mostly already-compressed assets; higher levels cost seconds and save little.
    await c({ gzip: { level: 1 }, cwd: out, file: tmp, portable: true }, fs.readdirSync(out));
    const sha256 = await sha256File(tmp);
    const bytes = fs.statSync(tmp).size;
    fs.renameSync(tmp, file);
    fs.writeFileSync(metaFile, JSON.stringify({ sha256, bytes, commit: version.commit, version: version.version }) + '\n');
    return { file, sha256, bytes, cached: false };
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}

/**
 * The artifact unpacked into a directory beside it, for rsync uploads; made
 * once per artifact (under a temp name, then renamed, so a crash leaves no
 * half-made directory behind).
 */
export async function stagedDir(artifact: Artifact): Promise<string> {
  const dir = `${artifact.file}.d`;
  if (fs.existsSync(dir)) return dir;
  const tmp = fs.mkdtempSync(`${dir}-`);
  const { x } = await import('tar');
  await x({ file: artifact.file, cwd: tmp, strict: true });
  fs.renameSync(tmp, dir);
  return dir;
}

/**
 * Refuses a release tarball that could write outside its release dir on a
 * node: absolute paths, `..` parts, links whose target leaves the release.
 * Checked before every distribute, cached artifact or not.
 */
export async function inspectTarball(file: string): Promise<void> {
  const { t } = await import('tar');
  const problems: string[] = [];
  const leaves = (from: string, target: string) => {
    if (target.startsWith('/')) return true;
    const parts = [...path.posix.dirname(from).split('/'), ...target.split('/')];
    let depth = 0;
    for (const part of parts) {
      if (part === '..') depth--;
      else if (part && part !== '.') depth++;
      if (depth < 0) return true;
    }
    return false;
  };
  await t({
    file,
    strict: true,
    // node-tar strips these by default; here they must be seen to be refused.
    preservePaths: true,
    onReadEntry: (entry) => {
      const name = entry.path;
      if (name.startsWith('/') || /^[A-Za-z]:/.test(name)) problems.push(`absolute path ${name}`);
      else if (name.split('/').includes('..')) problems.push(`path with .. ${name}`);
      else if ((entry.type === 'SymbolicLink' || entry.type === 'Link') && entry.linkpath && leaves(entry.type === 'Link' ? '' : name.replace(/^\.\//, ''), entry.linkpath)) {
        problems.push(`${entry.type === 'Link' ? 'hard link' : 'symlink'} ${name} -> ${entry.linkpath} points outside the release`);
      }
      entry.resume();
    },
  });
  if (problems.length) {
    throw new RelinkError(`release tarball refused: ${problems.slice(0, 5).join('; ')}${problems.length > 5 ? ` (and ${problems.length - 5} more)` : ''}`, {
      hint: 'the build must produce files inside its output dir only; fix the build (links into shared/ come from shared: in deploy.config.ts)',
    });
  }
}
