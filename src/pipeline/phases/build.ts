import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { ResolvedConfig } from '../../config/types.js';
import { InterruptedError, RelinkError } from '../../errors.js';
import type { Reporter } from '../../log/events.js';
import type { GitMirror } from '../../transport/git.js';
import { runLocal } from '../../transport/local.js';
import type { Artifact, VersionInfo } from '../context.js';
import * as tar from 'tar';

export function artifactKey(config: ResolvedConfig, version: VersionInfo): string {
  const inputs = { commit: version.commit, version: version.version, build: config.build };
  return crypto.createHash('sha256').update(JSON.stringify(inputs)).digest('hex').slice(0, 16);
}

async function sha256File(file: string): Promise<string> {
  const hash = crypto.createHash('sha256');
  for await (const chunk of fs.createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
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
 * Builds the release tarball once per commit and build settings, in a clean
 * export of the commit, and keeps it in `.relink/artifacts/` so that the same
 * commit deployed to another environment is not built again. Per-environment
 * settings come from templates at deploy time, never from the build.
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
    const meta = JSON.parse(fs.readFileSync(metaFile, 'utf8')) as { sha256: string; bytes: number };
    return { file, format, sha256: meta.sha256, bytes: meta.bytes, cached: true };
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
    if (format === 'dir') {
      const { sha256, bytes } = await stampTree(out);
      fs.renameSync(out, file);
      fs.writeFileSync(
        metaFile,
        `${JSON.stringify({ sha256, bytes, commit: version.commit, version: version.version })}\n`,
      );
      return { file, format, sha256, bytes, cached: false };
    }
    // Content-stamped mtimes in the tarball too: a relay then hard-links unchanged files between releases.
    await stampTree(out);
    const tmp = path.join(work, 'release.tar.gz');
    // Level 1: releases are mostly already-compressed assets; higher levels cost seconds and save little.
    await tar.c({ gzip: { level: 1 }, cwd: out, file: tmp, portable: true }, fs.readdirSync(out));
    const sha256 = await sha256File(tmp);
    const bytes = fs.statSync(tmp).size;
    fs.renameSync(tmp, file);
    fs.writeFileSync(
      metaFile,
      `${JSON.stringify({ sha256, bytes, commit: version.commit, version: version.version })}\n`,
    );
    return { file, sha256, bytes, cached: false };
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}

/** Seconds from 1971 on; a content stamp spans 2^30 of them (about 34 years, all in the past). */
const STAMP_BASE = 365 * 86_400;

/**
 * Gives every regular file under `root` an mtime derived from its content
 * (30 bits of its sha256, in seconds), so rsync's quick check (size and
 * mtime) hard-links exactly the unchanged files against the current release
 * without reading them on either side, and two deploy machines stamp the same
 * content alike. A changed file is sent unless it keeps its size and its stamp
 * collides: about one in a billion per such file. Returns the sha256 of the
 * tree's manifest (path, type, mode, content hash or link target per entry)
 * and its total size.
 */
export async function stampTree(root: string): Promise<{ sha256: string; bytes: number }> {
  const lines: string[] = [];
  let bytes = 0;
  const walk = async (dir: string, rel: string): Promise<void> => {
    for (const entry of fs
      .readdirSync(dir, { withFileTypes: true })
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
      const full = path.join(dir, entry.name);
      const name = rel ? `${rel}/${entry.name}` : entry.name;
      const stat = fs.lstatSync(full);
      const mode = (stat.mode & 0o7777).toString(8);
      if (entry.isSymbolicLink()) {
        lines.push(`l ${mode} ${name} ${fs.readlinkSync(full)}`);
      } else if (entry.isDirectory()) {
        lines.push(`d ${mode} ${name}`);
        await walk(full, name);
      } else if (entry.isFile()) {
        const hash = await sha256File(full);
        const stamp = STAMP_BASE + (Number.parseInt(hash.slice(0, 8), 16) >>> 2);
        fs.utimesSync(full, stamp, stamp);
        bytes += stat.size;
        lines.push(`f ${mode} ${name} ${hash}`);
      }
    }
  };
  await walk(root, '');
  return { sha256: crypto.createHash('sha256').update(lines.join('\n')).digest('hex'), bytes };
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
