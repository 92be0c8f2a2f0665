import fs from 'node:fs';
import path from 'node:path';
import { RelinkError, errorMessage } from '../../errors.js';
import type { NodeSpec } from '../../inventory/types.js';
import { printable } from '../../log/listing.js';
import {
  CONTENT_DIFFERS,
  LISTING_DIFFERS,
  incomingDelta,
  linkAndUnpack,
  readManifest,
  verifyRelease,
} from '../../remote/delta.js';
import { checksum } from '../../remote/release.js';
import { and } from '../../remote/tokens.js';
import type { ReleaseFacts } from '../../template/scope.js';
import { checkAborted, execOk, limit, session, state, step, type Artifact, type RunContext } from '../context.js';
import * as m from '../shared/manifest.js';
import { stderrTail, uploadFile } from './work.js';
import * as tar from 'tar';
import { worthCompressing } from './compress.js';

/** One tar for every node on the same current release: what they lack, and what they link. */
interface Prepared {
  /** The release files are linked from; undefined: nothing is linked (the tar holds the whole release). */
  readonly from?: string;
  readonly tar: string;
  readonly sha256: string;
  readonly bytes: number;
  readonly link: readonly string[];
  /** Whether the tar is gzipped (compress.ts: not when what it holds does not compress). */
  readonly gzip: boolean;
}

export interface DeltaSender {
  send(node: NodeSpec): Promise<void>;
  cleanup(): void;
}

/**
 * The delta sender of a run, when the release is a directory with a manifest that a node can check. The
 * nodes are grouped by their current release; per group, once, its manifest is taken (read from one node of
 * the group: untrusted, checked strictly, and used only to choose what to link), the files the group lacks
 * are computed and packed in one tar, and each node of the group gets those same bytes, links the rest from
 * its current release and checks the result against the new manifest, which comes from this machine. A node
 * with no current release gets the whole release; in rsync mode it gets it by rsync (no tarball at all).
 */
export function deltaSender(
  ctx: RunContext,
  nodes: readonly NodeSpec[],
  artifact: Artifact,
  facts: ReleaseFacts,
  /** rsync mode's way for a node that has nothing to link against: rsync of the whole directory. */
  rsyncWhole: (node: NodeSpec) => Promise<void>,
): DeltaSender | undefined {
  if (artifact.format !== 'dir') return undefined;
  const manifestFile = path.join(artifact.file, m.MANIFEST_FILE);
  if (!fs.existsSync(manifestFile)) return undefined;
  const entries = m.parseManifest(fs.readFileSync(manifestFile, 'utf8'));
  if (!entries || !m.checkable(entries)) return undefined;
  const rsync = ctx.config.rollout.upload === 'rsync';
  const fromOf = (node: NodeSpec) => {
    const s = state(ctx, node);
    return s.current && s.onDisk.includes(s.current) ? s.current : undefined;
  };
  const work = fs.mkdtempSync(path.join(path.dirname(artifact.file), '.delta-'));
  m.rememberRelease(artifact.file, facts.release);
  let full: Promise<Prepared> | undefined;
  const pack = (from: string | undefined, link: readonly string[], send: readonly m.Entry[]) =>
    packDelta(ctx, { artifact, work, from, link, send, nodes: nodes.filter((n) => fromOf(n) === from) });
  const whole = (): Promise<Prepared> => (full ??= pack(undefined, [], entries));
  const deltas = new Map<string, Promise<Prepared | undefined>>();
  // One manifest read and one delta per distinct current release, whichever node of it asks first.
  const forRelease = (from: string, reader: NodeSpec) => {
    let p = deltas.get(from);
    if (!p) {
      // This machine's own record when it sent that release; else the node's copy (one read per release).
      const local = m.localManifest(artifact.file, from);
      p = (local ? Promise.resolve(local) : readFrom(ctx, reader, from)).then((had) => {
        if (!had) return undefined;
        const delta = m.planDelta(had, entries);
        return pack(from, delta.link, delta.send);
      });
      deltas.set(from, p);
    }
    return p;
  };
  const sendWhole = async (node: NodeSpec) =>
    rsync ? rsyncWhole(node) : deliver(ctx, node, await whole(), facts, rsync);
  return {
    async send(node) {
      checkAborted(ctx);
      const from = fromOf(node);
      const p = from ? await forRelease(from, node) : undefined;
      if (!p) return sendWhole(node);
      await deliver(ctx, node, p, facts, rsync, async (error) => {
        // A linked file that is not what the manifest says (changed on the node since): the whole release.
        ctx.deps.reporter.emit({
          type: 'warn',
          node: node.name,
          message: `${error.message}; sending the whole release`,
        });
        await sendWhole(node);
      });
    },
    cleanup: () => fs.rmSync(work, { recursive: true, force: true }),
  };
}

/** The manifest of a node's current release, read from that node; undefined when it has none or it is not valid. */
async function readFrom(ctx: RunContext, node: NodeSpec, release: string): Promise<m.Entry[] | undefined> {
  try {
    const { stdout } = await execOk(ctx, node, readManifest(ctx.layout, release, m.OWN_FILES), { kind: 'inspect' });
    if (stdout === '' || stdout.length > m.MANIFEST_MAX_BYTES) return undefined;
    const entries = m.parseManifest(stdout);
    if (!entries) {
      ctx.deps.reporter.emit({
        type: 'warn',
        node: node.name,
        message: `the manifest of ${release} on ${node.name} is not valid; the nodes on it get the whole release`,
      });
    }
    return entries;
  } catch (error) {
    checkAborted(ctx);
    ctx.deps.reporter.emit({ type: 'warn', node: node.name, message: `no manifest read: ${errorMessage(error)}` });
    return undefined;
  }
}

/** Packs one group's tar (relink's own files first, then what the group lacks) and says so, once. */
async function packDelta(
  ctx: RunContext,
  g: {
    artifact: Artifact;
    work: string;
    from?: string;
    link: readonly string[];
    send: readonly m.Entry[];
    nodes: readonly NodeSpec[];
  },
): Promise<Prepared> {
  const sent = g.send.filter((e) => e.type === 'f');
  const gzip = worthCompressing(g.artifact.file, sent);
  const file = path.join(g.work, `${g.from ?? 'whole'}.tar${gzip ? '.gz' : ''}`);
  const members = [m.OWN_DIR, m.MANIFEST_FILE, m.CHECK_SUMS, m.CHECK_LIST, ...g.send.map((e) => e.path)];
  // Level 1, as the whole release's tarball always was: higher levels cost seconds and save little.
  const packing = { cwd: g.artifact.file, file, portable: true, noDirRecurse: true };
  await tar.c(gzip ? { ...packing, gzip: { level: 1 } } : packing, members);
  const sha256 = await m.sha256Of(file);
  const bytes = fs.statSync(file).size;
  const files = sent.length;
  const size = bytes < 1e6 ? `${Math.ceil(bytes / 1e3)} kB` : `${(bytes / 1e6).toFixed(1)} MB`;
  const mb = gzip ? size : `${size} uncompressed`;
  ctx.deps.reporter.emit({
    type: 'info',
    message:
      `delta from ${g.from ?? 'no release (the whole release)'}: ${files} file(s) sent in one ${mb} tar, ` +
      `${g.link.length} hard-linked, for ${g.nodes.map((n) => n.name).join(', ') || 'a node whose check failed'}`,
  });
  return { from: g.from, tar: file, sha256, bytes, link: g.link, gzip };
}

class Differs extends RelinkError {}

/**
 * One node's share of a group: the tar uploaded and its sha256 checked, the release dir made of links and
 * the tar, then checked against the manifest, all on the node. In rsync mode one step (as rsync's upload).
 */
async function deliver(
  ctx: RunContext,
  node: NodeSpec,
  p: Prepared,
  facts: ReleaseFacts,
  rsync: boolean,
  differs?: (error: Differs) => Promise<void>,
): Promise<void> {
  const l = ctx.layout;
  const tarball = incomingDelta(l, facts.release);
  const upload = () => uploadFile(ctx, node, p.tar, p.bytes, tarball);
  const verify = async () => {
    const sum = (await execOk(ctx, node, checksum(tarball), { kind: 'unpack' })).stdout.trim().split(/\s+/)[0];
    if (sum !== p.sha256)
      throw new RelinkError(`${node.name}: checksum mismatch after upload (expected ${p.sha256.slice(0, 16)}…)`, {
        hint: 'the upload was corrupted; deploy again',
      });
  };
  const unpack = async () => {
    const command = and(
      linkAndUnpack(l, facts.release, p.from, tarball, p.gzip),
      verifyRelease(l, facts.release, m.OWN_FILES),
    );
    const stdin = p.link.map((f) => `${f}\0`).join('');
    const result = await session(ctx, node).exec(command, { ...limit(ctx, 'unpack'), stdin });
    checkAborted(ctx);
    if (result.code === 0) return;
    const out = ctx.deps.redactor.apply(result.stdout);
    const what = out.includes(CONTENT_DIFFERS)
      ? `file(s) differ from the manifest: ${failed(out)}`
      : out.includes(LISTING_DIFFERS)
        ? 'its entries, modes or links differ from the manifest'
        : undefined;
    if (!what)
      throw new RelinkError(
        `${node.name}: unpacking into the new release failed (exit ${result.code}): ${stderrTail(ctx, result.stderr)}`,
        { hint: `check free disk under ${l.deployTo} on ${node.name}` },
      );
    const linked = p.from ? ` (files hard-linked from ${p.from})` : '';
    const error = new Differs(`${node.name}: the new release${linked} does not match the build: ${what}`, {
      hint: `check the disk of ${node.name} and deploy again`,
    });
    if (!differs || !p.from) throw error;
    await differs(error);
  };
  const linked = () => (p.from ? `unchanged files hard-linked from ${p.from} (${p.link.length})` : undefined);
  if (rsync) {
    const all = async () => {
      await upload();
      await verify();
      await unpack();
    };
    await step(ctx, 'distribute:upload', node, all, linked);
    return;
  }
  await step(ctx, 'distribute:upload', node, upload);
  await step(ctx, 'distribute:verify', node, verify);
  await step(ctx, 'distribute:unpack', node, unpack, linked);
}

/** The first few files sha256sum named as failed. */
function failed(out: string): string {
  const names = out
    .split('\n')
    .filter((line) => /: FAILED/.test(line))
    .map((line) => line.replace(/^\.\//, '').replace(/: FAILED.*$/, ''))
    // What a node prints is untrusted: no control character reaches the terminal.
    .map((name) => printable(name.slice(0, 200)));
  return names.slice(0, 5).join(', ') + (names.length > 5 ? ` (and ${names.length - 5} more)` : '');
}
