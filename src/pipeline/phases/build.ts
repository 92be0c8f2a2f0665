import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { ResolvedConfig } from '../../config/types.js';
import { InterruptedError, RelinkError } from '../../errors.js';
import type { Reporter } from '../../log/events.js';
import type { GitMirror } from '../../transport/git.js';
import { runLocal } from '../../transport/local.js';
import type { Artifact, VersionInfo } from '../context.js';
import { pruneRelease, secretsInRelease, sha256File, stampTree, writeRevision } from './release-files.js';
import * as tar from 'tar';

export function artifactKey(config: ResolvedConfig, version: VersionInfo): string {
  const inputs = { commit: version.commit, version: version.version, build: config.build, release: config.release };
  return crypto.createHash('sha256').update(JSON.stringify(inputs)).digest('hex').slice(0, 16);
}

/** What every build gets from the deploy machine's environment: enough to run a toolchain, no secrets. */
const BASIC_ENV = ['PATH', 'HOME', 'USER', 'LOGNAME', 'SHELL', 'LANG', 'LANGUAGE', 'TZ', 'TMPDIR', 'TERM', 'CI'];
const PROXY_ENV = ['http_proxy', 'https_proxy', 'no_proxy', 'HTTP_PROXY', 'HTTPS_PROXY', 'NO_PROXY'];

/**
 * The build's environment from the deploy machine's: the basics, locale
 * (LC_*), proxies and the variables `build.passEnv` names; nothing else, so
 * a secret in the deploy machine's environment never reaches the build.
 */
export function buildEnv(from: NodeJS.ProcessEnv, passEnv: readonly string[]): Record<string, string> {
  const names = new Set([...BASIC_ENV, ...PROXY_ENV, ...passEnv]);
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(from)) {
    if (value !== undefined && (names.has(key) || key.startsWith('LC_'))) env[key] = value;
  }
  return env;
}

/**
 * Builds the release tarball once per commit and build and release settings,
 * in a clean export of the commit, and keeps it in `.relink/artifacts/` so
 * that the same commit deployed to another environment is not built again.
 * After the build, what `release` leaves out goes (the build may read
 * anything of its commit), REVISION and REVISION_TIME are written, and every
 * file gets the commit time. Per-environment settings come from templates at
 * deploy time, never from the build.
 */
export async function buildArtifact(
  config: ResolvedConfig,
  stateDir: string,
  mirror: GitMirror,
  version: VersionInfo,
  reporter: Reporter,
  signal?: AbortSignal,
): Promise<Artifact> {
  const dir = path.join(stateDir, 'artifacts');
  const key = artifactKey(config, version);
  // rsync uploads send a directory: no tarball to pack here and none to unpack on the nodes. Pulling nodes
  // fetch a tarball whatever the upload.
  const format = config.rollout.upload === 'rsync' && config.rollout.fanout.mode !== 'pull' ? 'dir' : 'tar.gz';
  const file = path.join(dir, `${config.project}-${key}.${format === 'dir' ? 'd' : 'tar.gz'}`);
  const metaFile = `${file}.json`;
  if (fs.existsSync(file) && fs.existsSync(metaFile)) {
    const meta = JSON.parse(fs.readFileSync(metaFile, 'utf8')) as { sha256: string; bytes: number; time?: number };
    return { file, format, sha256: meta.sha256, bytes: meta.bytes, commitTime: meta.time, cached: true };
  }
  fs.mkdirSync(dir, { recursive: true });
  const work = fs.mkdtempSync(path.join(dir, `.build-${key}-`));
  try {
    const src = path.join(work, 'src');
    fs.mkdirSync(src);
    await mirror.export(version.commit, src);
    if (config.build.command) {
      const relink = { RELINK_VERSION: version.version, RELINK_COMMIT: version.commit, RELINK_PROJECT: config.project };
      const env = { ...buildEnv(process.env, config.build.passEnv), ...config.build.env, ...relink };
      const limits = { cwd: src, env, timeoutMs: config.build.timeoutMs, signal };
      const result = await runLocal('sh', ['-c', config.build.command], limits);
      if (result.code === 130) throw new InterruptedError(String(signal?.reason ?? 'a signal'));
      if (result.code !== 0) {
        const tail = result.stderr.trim().split('\n').slice(-8).join('\n  ');
        throw new RelinkError(`build failed (exit ${result.code}): ${config.build.command}\n  ${tail}`, {
          hint: 'fix the build, tag a new version and deploy that',
        });
      }
      for (const line of result.stdout.trim().split('\n').filter(Boolean).slice(-3))
        reporter.emit({ type: 'info', message: `build: ${line}` });
    }
    const out = path.resolve(src, config.build.output);
    if (!fs.existsSync(out))
      throw new RelinkError(`build output "${config.build.output}" does not exist after the build`, {
        hint: 'fix build.output in deploy.config.ts',
      });
    const left = pruneRelease(out, config.release, secretsInRelease(config));
    if (left.length)
      reporter.emit({ type: 'info', message: `release: left out ${left.length} path(s): ${briefly(left)}` });
    const time = await mirror.commitTime(version.commit);
    writeRevision(out, version.commit, time);
    const meta = (sha256: string, bytes: number) =>
      `${JSON.stringify({ sha256, bytes, time, commit: version.commit, version: version.version })}\n`;
    if (format === 'dir') {
      const { sha256, bytes } = await stampTree(out, time);
      fs.renameSync(out, file);
      fs.writeFileSync(metaFile, meta(sha256, bytes));
      return { file, format, sha256, bytes, commitTime: time, cached: false };
    }
    await stampTree(out, time);
    const tmp = path.join(work, 'release.tar.gz');
    // Level 1: releases are mostly already-compressed assets; higher levels cost seconds and save little.
    await tar.c({ gzip: { level: 1 }, cwd: out, file: tmp, portable: true }, fs.readdirSync(out));
    const sha256 = await sha256File(tmp);
    const bytes = fs.statSync(tmp).size;
    fs.renameSync(tmp, file);
    fs.writeFileSync(metaFile, meta(sha256, bytes));
    return { file, sha256, bytes, commitTime: time, cached: false };
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}

/** The first few of a list of paths, for a message. */
function briefly(paths: readonly string[]): string {
  const top = paths.filter((p) => !p.slice(0, -1).includes('/'));
  const shown = (top.length ? top : paths).slice(0, 6);
  return shown.join(', ') + (paths.length > shown.length ? ', ...' : '');
}

/** Inspects an artifact of either format before it goes anywhere. */
export async function inspectArtifact(artifact: Pick<Artifact, 'file' | 'format'>): Promise<void> {
  if (artifact.format === 'dir') inspectDir(artifact.file);
  else await inspectTarball(artifact.file);
}

/** The directory form of inspectTarball: no link may point outside the release. */
export function inspectDir(root: string): void {
  const problems: string[] = [];
  const walk = (dir: string, rel: string) => {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      const name = rel ? `${rel}/${entry.name}` : entry.name;
      if (entry.isSymbolicLink()) {
        const target = fs.readlinkSync(path.join(dir, entry.name));
        if (leavesRelease(name, target)) problems.push(`symlink ${name} -> ${target} points outside the release`);
      } else if (entry.isDirectory()) walk(path.join(dir, entry.name), name);
    }
  };
  walk(root, '');
  refuse(problems, 'release directory');
}

/** Whether a link at `from` (relative to the release root) with this target resolves outside the release. */
function leavesRelease(from: string, target: string): boolean {
  if (target.startsWith('/')) return true;
  const parts = [...path.posix.dirname(from).split('/'), ...target.split('/')];
  let depth = 0;
  for (const part of parts) {
    if (part === '..') depth--;
    else if (part && part !== '.') depth++;
    if (depth < 0) return true;
  }
  return false;
}

function refuse(problems: readonly string[], what: string): void {
  if (problems.length === 0) return;
  const more = problems.length > 5 ? ` (and ${problems.length - 5} more)` : '';
  throw new RelinkError(`${what} refused: ${problems.slice(0, 5).join('; ')}${more}`, {
    hint:
      'the build must produce files inside its output dir only; ' +
      'fix the build (links into shared/ come from shared: in deploy.config.ts)',
  });
}

/**
 * Refuses a release tarball that could write outside its release dir on a
 * node: absolute paths, `..` parts, links whose target leaves the release.
 * Checked before every distribute, cached artifact or not.
 */
export async function inspectTarball(file: string): Promise<void> {
  const problems: string[] = [];
  await tar.t({
    file,
    strict: true,
    // node-tar strips these by default; here they must be seen to be refused.
    preservePaths: true,
    onReadEntry: (entry) => {
      const name = entry.path;
      if (name.startsWith('/') || /^[A-Za-z]:/.test(name)) problems.push(`absolute path ${name}`);
      else if (name.split('/').includes('..')) problems.push(`path with .. ${name}`);
      else if (
        (entry.type === 'SymbolicLink' || entry.type === 'Link') &&
        entry.linkpath &&
        leavesRelease(entry.type === 'Link' ? '' : name.replace(/^\.\//, ''), entry.linkpath)
      ) {
        problems.push(
          `${entry.type === 'Link' ? 'hard link' : 'symlink'} ${name} -> ${entry.linkpath} points outside the release`,
        );
      }
      entry.resume();
    },
  });
  refuse(problems, 'release tarball');
}
