import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { ResolvedConfig } from '../../config/types.js';
import { InterruptedError, RelinkError } from '../../errors.js';
import type { Reporter } from '../../log/events.js';
import type { GitMirror } from '../../transport/git.js';
import { runLocal } from '../../transport/local.js';
import { localPlatform } from '../../transport/platform.js';
import type { Artifact, VersionInfo } from '../context.js';
import type { BuildHost } from '../shared/source.js';
import { inspectTarball } from './inspect-artifact.js';
import { pruneRelease, secretsInRelease, sha256File, stampTree, writeRevision } from './release-files.js';
import { nativeAddons } from './native.js';
import { CHECK_LIST, CHECK_SUMS, MANIFEST_FILE, OWN_DIR, readTree, writeManifest } from '../shared/manifest.js';
import * as tar from 'tar';

export { inspectArtifact, inspectDir, inspectTarball } from './inspect-artifact.js';
export { stampTree } from './release-files.js';

/**
 * The cache key of an artifact: the commit, the version, the build and release settings and the platform it
 * is built for (where it is built, `build.on`, counts only through its platform).
 */
export function artifactKey(config: ResolvedConfig, version: VersionInfo, platform: string): string {
  const { on: _where, ...build } = config.build;
  const inputs = { commit: version.commit, version: version.version, build, release: config.release, platform };
  return crypto.createHash('sha256').update(JSON.stringify(inputs)).digest('hex').slice(0, 16);
}

/** The artifact's file name in the cache: one per project, platform and key. */
export function artifactName(project: string, platform: string, key: string, format: 'dir' | 'tar.gz'): string {
  return `${project}-${platform}-${key}.${format === 'dir' ? 'd' : 'tar.gz'}`;
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

/** The values build.passEnv names, from the deploy machine's environment (sent to a build node as secrets). */
function passed(from: NodeJS.ProcessEnv, passEnv: readonly string[]): Record<string, string> {
  return Object.fromEntries(passEnv.flatMap((name) => (from[name] === undefined ? [] : [[name, from[name]!]])));
}

interface Meta {
  sha256: string;
  bytes: number;
  time?: number;
  platform?: string;
  native?: string[];
}

/**
 * Builds the release tarball once per commit, build settings and platform, in a clean export of the
 * commit, and keeps it in `.relink/artifacts/` so that the same commit deployed to another environment
 * of the same platform is not built again. With a build host (build.on: a node), the export is built
 * there and its packed output comes back, checksum verified. After the build, what `release` leaves out
 * goes (the build may read anything of its commit), REVISION and REVISION_TIME are written, and every file
 * gets the commit time. Per-environment settings come from templates at deploy time, never from the build.
 */
export async function buildArtifact(
  config: ResolvedConfig,
  stateDir: string,
  mirror: GitMirror,
  version: VersionInfo,
  reporter: Reporter,
  signal?: AbortSignal,
  host?: BuildHost,
): Promise<Artifact> {
  const dir = path.join(stateDir, 'artifacts');
  const platform = host ? await host.platform(signal) : localPlatform();
  const key = artifactKey(config, version, platform);
  // Push and relay send from a directory (a node gets what it lacks, see distribution/delta.ts): no tarball of
  // the whole release is packed here unless a node has none to link against. Pulling nodes fetch a tarball.
  const format = config.rollout.fanout.mode !== 'pull' ? 'dir' : 'tar.gz';
  const file = path.join(dir, artifactName(config.project, platform, key, format));
  const metaFile = `${file}.json`;
  if (fs.existsSync(file) && fs.existsSync(metaFile)) {
    const meta = JSON.parse(fs.readFileSync(metaFile, 'utf8')) as Meta;
    const { sha256, bytes, time: commitTime, native } = meta;
    // A directory built before releases carried a manifest gets one now, once.
    if (format === 'dir' && !fs.existsSync(path.join(file, MANIFEST_FILE))) await addManifest(file, commitTime);
    return { file, format, sha256, bytes, commitTime, cached: true, platform, native };
  }
  fs.mkdirSync(dir, { recursive: true });
  const work = fs.mkdtempSync(path.join(dir, `.build-${key}-`));
  try {
    const src = path.join(work, 'src');
    fs.mkdirSync(src);
    await mirror.export(version.commit, src);
    const relink = { RELINK_VERSION: version.version, RELINK_COMMIT: version.commit, RELINK_PROJECT: config.project };
    let out: string;
    if (host) {
      // The export goes to the node as a tarball; what comes back is checked before it is unpacked here.
      const exportTar = path.join(work, 'export.tar.gz');
      await tar.c({ gzip: { level: 1 }, cwd: src, file: exportTar, portable: true }, fs.readdirSync(src));
      const into = path.join(work, 'built.tar.gz');
      const env = { ...config.build.env, ...relink };
      await host.build({ exportTar, into, env, secretEnv: passed(process.env, config.build.passEnv) }, signal);
      await inspectTarball(into);
      out = path.join(work, 'out');
      fs.mkdirSync(out);
      await tar.x({ file: into, cwd: out });
      fs.rmSync(into);
    } else {
      if (config.build.command) await buildHere(config, src, relink, reporter, signal);
      out = path.resolve(src, config.build.output);
    }
    if (!fs.existsSync(out))
      throw new RelinkError(`build output "${config.build.output}" does not exist after the build`, {
        hint: 'fix build.output in deploy.config.ts',
      });
    const left = pruneRelease(out, config.release, secretsInRelease(config));
    if (left.length)
      reporter.emit({ type: 'info', message: `release: left out ${left.length} path(s): ${briefly(left)}` });
    const time = await mirror.commitTime(version.commit);
    writeRevision(out, version.commit, time);
    const native = nativeAddons(out);
    const facts = { commit: version.commit, version: version.version, time, platform, native };
    const meta = (sums: { sha256: string; bytes: number }) => `${JSON.stringify({ ...sums, ...facts })}\n`;
    if (format === 'dir') {
      const sums = await stampTree(out, time);
      await addManifest(out, time);
      fs.renameSync(out, file);
      fs.writeFileSync(metaFile, meta(sums));
      return { file, format, ...sums, commitTime: time, cached: false, platform, native };
    }
    await stampTree(out, time);
    await addManifest(out, time);
    const tmp = path.join(work, 'release.tar.gz');
    // Level 1: releases are mostly already-compressed assets; higher levels cost seconds and save little.
    await tar.c({ gzip: { level: 1 }, cwd: out, file: tmp, portable: true }, fs.readdirSync(out));
    const sha256 = await sha256File(tmp);
    const bytes = fs.statSync(tmp).size;
    fs.renameSync(tmp, file);
    fs.writeFileSync(metaFile, meta({ sha256, bytes }));
    return { file, sha256, bytes, commitTime: time, cached: false, platform, native };
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}

/** Writes the release's manifest into it (shared/manifest.ts), its files with the commit's time. */
async function addManifest(root: string, time: number | undefined): Promise<void> {
  writeManifest(root, await readTree(root));
  if (time === undefined) return;
  for (const name of [MANIFEST_FILE, CHECK_SUMS, CHECK_LIST, OWN_DIR]) fs.utimesSync(path.join(root, name), time, time);
}

/** The build command on this machine, in the export, with the build's environment only. */
async function buildHere(
  config: ResolvedConfig,
  src: string,
  relink: Record<string, string>,
  reporter: Reporter,
  signal?: AbortSignal,
): Promise<void> {
  const command = config.build.command!;
  const env = { ...buildEnv(process.env, config.build.passEnv), ...config.build.env, ...relink };
  const result = await runLocal('sh', ['-c', command], { cwd: src, env, timeoutMs: config.build.timeoutMs, signal });
  if (result.code === 130) throw new InterruptedError(String(signal?.reason ?? 'a signal'));
  if (result.code !== 0) {
    const tail = result.stderr.trim().split('\n').slice(-8).join('\n  ');
    throw new RelinkError(`build failed (exit ${result.code}): ${command}\n  ${tail}`, {
      hint: 'fix the build, tag a new version and deploy that',
    });
  }
  for (const line of result.stdout.trim().split('\n').filter(Boolean).slice(-3))
    reporter.emit({ type: 'info', message: `build: ${line}` });
}

/** The first few of a list of paths, for a message. */
function briefly(paths: readonly string[]): string {
  const top = paths.filter((p) => !p.slice(0, -1).includes('/'));
  const shown = (top.length ? top : paths).slice(0, 6);
  return shown.join(', ') + (paths.length > shown.length ? ', ...' : '');
}
