import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

/**
 * A release's manifest: every entry of the release (path relative to its root, type, mode; a file's size and
 * sha256, a link's target), made once when the release is built. It travels in the release as MANIFEST_FILE,
 * with the two check lists the node verifies a delta against (CHECK_SUMS, CHECK_LIST). relink's own dir
 * (`.relink/`, which also holds the release's settings) is not part of it.
 */
export interface Entry {
  readonly path: string;
  readonly type: 'f' | 'd' | 'l';
  readonly mode: number;
  readonly size?: number;
  readonly sha256?: string;
  readonly target?: string;
}

/** relink's own dir in a release: never part of the manifest, always sent. */
export const OWN_DIR = '.relink';
export const MANIFEST_FILE = `${OWN_DIR}/manifest`;
/** `sha256  ./path` of every file, what `sha256sum -c` reads on the node. */
export const CHECK_SUMS = `${OWN_DIR}/check.sha256`;
/** `type mode path -> target` of every entry, sorted by bytes, what the node's `find` listing must equal. */
export const CHECK_LIST = `${OWN_DIR}/check.list`;
/** A manifest read from a node larger than this is not read (it is untrusted). */
export const MANIFEST_MAX_BYTES = 32 * 1024 * 1024;

/** The above, as the node-side commands take them (remote/delta.ts). */
export const OWN_FILES = {
  dir: OWN_DIR,
  manifest: MANIFEST_FILE,
  sums: CHECK_SUMS,
  list: CHECK_LIST,
  maxBytes: MANIFEST_MAX_BYTES,
} as const;

const HEX = /^[0-9a-f]{64}$/;

/** The sha256 of a file's content, in hex. */
export async function sha256Of(file: string): Promise<string> {
  const hash = crypto.createHash('sha256');
  for await (const chunk of fs.createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** The entries of one directory entry's subtree, in byte order of their names. */
export function byName(a: fs.Dirent, b: fs.Dirent): number {
  return Buffer.compare(Buffer.from(a.name), Buffer.from(b.name));
}

/** Walks a release dir (not following links) and makes its manifest; relink's own dir at the root is left out. */
export async function readTree(root: string): Promise<Entry[]> {
  const entries: Entry[] = [];
  const walk = async (dir: string, rel: string): Promise<void> => {
    for (const item of fs.readdirSync(dir, { withFileTypes: true }).sort(byName)) {
      const name = rel ? `${rel}/${item.name}` : item.name;
      if (name === OWN_DIR) continue;
      const full = path.join(dir, item.name);
      const stat = fs.lstatSync(full);
      const mode = stat.mode & 0o7777;
      if (stat.isSymbolicLink()) entries.push({ path: name, type: 'l', mode, target: fs.readlinkSync(full) });
      else if (stat.isDirectory()) {
        entries.push({ path: name, type: 'd', mode });
        await walk(full, name);
      } else if (stat.isFile())
        entries.push({ path: name, type: 'f', mode, size: stat.size, sha256: await sha256Of(full) });
    }
  };
  await walk(root, '');
  return entries;
}

/** The manifest as it is kept: one JSON object per line. */
export function manifestText(entries: readonly Entry[]): string {
  return entries.map((e) => `${JSON.stringify(e)}\n`).join('');
}

/** A relative path a manifest may name: no absolute path, no `.` or `..` part, no empty part, no NUL. */
export function isEntryPath(value: unknown): value is string {
  if (typeof value !== 'string' || value === '' || value.length > 4096 || value.includes('\0')) return false;
  if (value.startsWith('/')) return false;
  return value.split('/').every((part) => part !== '' && part !== '.' && part !== '..');
}

/**
 * A manifest read back (from a node: untrusted). Every line is checked strictly: a relative path, a known
 * type, a numeric mode, a file's numeric size and hex sha256, a link's target; anything else makes the
 * whole manifest unusable (undefined), and the node then gets the whole release.
 */
export function parseManifest(text: string): Entry[] | undefined {
  const entries: Entry[] = [];
  const seen = new Set<string>();
  for (const line of text.split('\n')) {
    if (line === '') continue;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch {
      return undefined;
    }
    const entry = checkedEntry(value);
    if (!entry || seen.has(entry.path)) return undefined;
    seen.add(entry.path);
    entries.push(entry);
  }
  return entries;
}

function checkedEntry(value: unknown): Entry | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  const v = value as Record<string, unknown>;
  const mode = v.mode;
  if (!isEntryPath(v.path) || v.path === OWN_DIR || v.path.startsWith(`${OWN_DIR}/`)) return undefined;
  if (typeof mode !== 'number' || !Number.isInteger(mode) || mode < 0 || mode > 0o7777) return undefined;
  if (v.type === 'd') return { path: v.path, type: 'd', mode };
  if (v.type === 'l' && typeof v.target === 'string' && v.target !== '' && !v.target.includes('\0'))
    return { path: v.path, type: 'l', mode, target: v.target };
  const size = v.size;
  if (v.type !== 'f' || typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0) return undefined;
  if (typeof v.sha256 !== 'string' || !HEX.test(v.sha256)) return undefined;
  return { path: v.path, type: 'f', mode, size, sha256: v.sha256 };
}

/**
 * Whether the node can check a release against this manifest with its line-based tools: no path or link
 * target with a line break or a backslash (`sha256sum -c` and `find` would escape them). A release that has
 * one is sent whole, as before.
 */
export function checkable(entries: readonly Entry[]): boolean {
  return entries.every((e) => !/[\n\r\\]/.test(e.path) && !/[\n\r\\]/.test(e.target ?? ''));
}

/** The two check lists of a manifest (see CHECK_SUMS, CHECK_LIST). */
export function checkLists(entries: readonly Entry[]): { sums: string; list: string } {
  const sums = entries.filter((e) => e.type === 'f').map((e) => `${e.sha256}  ./${e.path}\n`);
  const list = entries
    .map((e) => `${e.type} ${e.mode.toString(8)} ${e.path} -> ${e.target ?? ''}\n`)
    .sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
  return { sums: sums.join(''), list: list.join('') };
}

export interface Delta {
  /** Files the node already has with the same content and mode: hard-linked from its current release. */
  readonly link: string[];
  /** What is sent: every directory and link (they cost nothing), every file that is new or changed. */
  readonly send: Entry[];
  /** The bytes of the files sent. */
  readonly bytes: number;
}

/**
 * What a node whose current release has manifest `from` lacks of the release `to` (pure). Without `from`
 * (no current release, or its manifest unknown) everything is sent.
 */
export function planDelta(from: readonly Entry[] | undefined, to: readonly Entry[]): Delta {
  const had = new Map((from ?? []).map((e) => [e.path, e]));
  const link: string[] = [];
  const send: Entry[] = [];
  let bytes = 0;
  for (const entry of to) {
    const old = had.get(entry.path);
    if (entry.type === 'f' && old?.type === 'f' && old.sha256 === entry.sha256 && old.mode === entry.mode) {
      link.push(entry.path);
    } else {
      send.push(entry);
      bytes += entry.size ?? 0;
    }
  }
  return { link, send, bytes };
}

/** Writes the manifest and its check lists into a release dir (relink's own dir, replaced). */
export function writeManifest(root: string, entries: readonly Entry[]): void {
  const own = path.join(root, OWN_DIR);
  fs.rmSync(own, { recursive: true, force: true });
  fs.mkdirSync(own, { mode: 0o755 });
  const { sums, list } = checkLists(entries);
  fs.writeFileSync(path.join(root, MANIFEST_FILE), manifestText(entries), { mode: 0o644 });
  fs.writeFileSync(path.join(root, CHECK_SUMS), sums, { mode: 0o644 });
  fs.writeFileSync(path.join(root, CHECK_LIST), list, { mode: 0o644 });
}

/** Where the artifact cache notes which artifact each release this machine sent was made of. */
const RELEASED = 'released';

/** Notes that `release` is the artifact dir `dir` (in the artifact cache), for a later delta from it. */
export function rememberRelease(dir: string, release: string): void {
  const index = path.join(path.dirname(dir), RELEASED);
  fs.mkdirSync(index, { recursive: true });
  fs.writeFileSync(path.join(index, release), `${path.basename(dir)}\n`);
}

/** The manifest of a release this machine sent, from its artifact in the cache, while that is still there. */
export function localManifest(dir: string, release: string): Entry[] | undefined {
  const cache = path.dirname(dir);
  const note = path.join(cache, RELEASED, release);
  if (release.includes('/') || !fs.existsSync(note)) return undefined;
  const artifact = fs.readFileSync(note, 'utf8').trim();
  const file = path.join(cache, artifact, MANIFEST_FILE);
  if (!artifact || artifact.includes('/') || !fs.existsSync(file)) return undefined;
  return parseManifest(fs.readFileSync(file, 'utf8'));
}
