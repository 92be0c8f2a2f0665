import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { deploy } from '../../src/pipeline/run.js';
import { CONTENT_DIFFERS } from '../../src/remote/delta.js';
import { manifestText, readTree, writeManifest, type Entry } from '../../src/pipeline/shared/manifest.js';
import { SECTION } from '../../src/remote/inspect.js';
import { fakeRun, OLD, type FakeOptions, checksummed } from '../helpers/fake-run.js';
import * as tar from 'tar';

const B = 'hello_prod_v1.0.1_main_20261110-120000_ana';
const root = fs.mkdtempSync(path.join(os.tmpdir(), 'relink-delta-'));
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

/** A release directory as the build leaves it (with its manifest), and its manifest. */
async function release(
  name: string,
  files: Record<string, string | Buffer>,
): Promise<{ dir: string; entries: Entry[] }> {
  const dir = path.join(root, name);
  for (const [file, content] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
    fs.writeFileSync(path.join(dir, file), content);
  }
  const entries = await readTree(dir);
  writeManifest(dir, entries);
  return { dir, entries };
}

const FILES = { 'server.js': 'v2 server\n', 'lib/a.js': 'a\n', 'lib/b.js': 'b\n', 'public/app.css': 'css\n' };
// Release A (OLD) differs from the new one in server.js; release B in server.js and lib/b.js.
const A = release('a', { ...FILES, 'server.js': 'v1 server\n' });
const BB = release('b', { ...FILES, 'server.js': 'v1 server\n', 'lib/b.js': 'old b\n' });
const NEW = release('new', FILES);

/** Nodes 3 and 4 run release B, the others OLD (A); every command to a node is recorded as usual. */
async function run(options: FakeOptions & { onB?: string[]; next?: Promise<{ dir: string }>; at?: string } = {}) {
  const [a, b, next] = await Promise.all([A, BB, options.next ?? NEW]);
  const onB = options.onB ?? ['node3', 'node4'];
  const tars = new Map<string, string[]>();
  const made = fakeRun({
    ...options,
    onCommand: (node, command) => {
      // What each node was sent, read from the tar while it is still there (it goes when distribute ends).
      const sent = made.transport.log.findLast((r) => r.node === node && r.kind === 'upload');
      if (checksummed(command) && sent && !tars.has(node)) {
        const names: string[] = [];
        tar.t({
          file: sent.command.split(' -> ')[0]!,
          sync: true,
          onReadEntry: (e) => names.push(e.path.replace(/\/$/, '')),
        });
        tars.set(node, names.filter((n) => !n.startsWith('.relink')).sort());
      }
    },
    answer: (node, command) => {
      const own = options.answer?.(node, command);
      if (own) return own;
      if (command.includes('readlink /srv/app/current || true ;') && onB.includes(node))
        return { stdout: `releases/${B}\n${SECTION}\n${OLD}\n${B}\n${SECTION}\n${SECTION}\n` };
      if (command.includes(`/.relink/manifest`) && command.includes('head -c')) {
        const from = command.includes(B) ? b : a;
        return { stdout: manifestText(from.entries) };
      }
      return undefined;
    },
  });
  const artifact = { file: next.dir, format: 'dir' as const, sha256: 'cd'.repeat(32), bytes: 100, cached: true };
  made.source.build = async () => artifact;
  const at = options.at;
  const outcome = await deploy(made.request, at ? { ...made.deps, now: () => new Date(at) } : made.deps, made.source);
  const infos = made.events.flatMap((e) => (e.type === 'info' && e.message.startsWith('delta ') ? [e.message] : []));
  const uploads = (node: string) =>
    made.transport.log.filter((r) => r.node === node && r.kind === 'upload').map((r) => r.command.split(' -> ')[0]!);
  const reads = made.transport.log.filter((r) => r.kind === 'exec' && /head -c \d+ -- .*manifest/.test(r.command));
  const unpack = (node: string) =>
    made.transport.log.find((r) => r.node === node && r.kind === 'exec' && r.command.includes('cp -l --parents'));
  return { made, outcome, infos, uploads, reads, unpack, tars };
}

describe('distribute: one delta per distinct current release, the same bytes to every node on it', () => {
  it('4 nodes, 2 on release A and 2 on B: 2 manifests read, 2 deltas, each node gets its group’s tar', async () => {
    const r = await run();
    expect(r.outcome.nodes).toHaveLength(4);
    expect(r.reads.map((x) => x.command.includes(B))).toEqual([false, true]);
    expect(r.infos).toEqual([
      `delta from ${OLD}: 1 file(s) sent in one ${r.infos[0]!.match(/one (\d+ kB)/)![1]} tar, 3 hard-linked, ` +
        'for node1, node2',
      expect.stringMatching(new RegExp(`^delta from ${B}: 2 file\\(s\\) sent .* 2 hard-linked, for node3, node4$`)),
    ]);
    const [t1, t2, t3, t4] = ['node1', 'node2', 'node3', 'node4'].map((n) => r.uploads(n));
    expect(t1).toEqual(t2);
    expect(t3).toEqual(t4);
    expect(t1).not.toEqual(t3);
    expect(r.tars.get('node1')).toEqual(['lib', 'public', 'server.js']);
    expect(r.tars.get('node4')).toEqual(['lib', 'lib/b.js', 'public', 'server.js']);
    // The files to link go on stdin, never on a command line; the node checks the result against the manifest.
    expect(r.unpack('node2')?.stdin).toBe('lib/a.js\0lib/b.js\0public/app.css\0');
    expect(r.unpack('node3')?.stdin).toBe('lib/a.js\0public/app.css\0');
    expect(r.unpack('node3')?.command).toContain(`cd /srv/app/releases/${B} && xargs -0 -r cp -l --parents -t`);
    expect(r.unpack('node3')?.command).toContain('sha256sum --quiet --strict -c .relink/check.sha256');
    // No tar left behind on this machine.
    expect(fs.readdirSync(root).filter((f) => f.startsWith('.delta-'))).toEqual([]);
  });

  it('every node on one release: one manifest read, one delta', async () => {
    const r = await run({ onB: [] });
    expect(r.reads).toHaveLength(1);
    expect(r.infos).toHaveLength(1);
    expect(r.infos[0]).toMatch(/for node1, node2, node3, node4$/);
    expect(new Set(['node1', 'node2', 'node3', 'node4'].map((n) => r.uploads(n).join()))).toHaveProperty('size', 1);
  });

  it('a release this machine sent: its manifest comes from the artifact cache, none is read from a node', async () => {
    const sent = (await run({ onB: [] })).outcome.release;
    const inspect = `releases/${sent}\n${SECTION}\n${OLD}\n${sent}\n${SECTION}\n${SECTION}\n`;
    const r = await run({
      onB: [],
      next: release('newer', { ...FILES, 'lib/a.js': 'a2\n' }),
      at: '2026-11-22T09:00:00Z',
      answer: (_node, command) =>
        command.includes('readlink /srv/app/current || true ;') ? { stdout: inspect } : undefined,
    });
    expect(r.reads).toEqual([]);
    expect(r.infos).toEqual([
      expect.stringMatching(new RegExp(`^delta from ${sent}: 1 file\\(s\\) sent .* 3 hard-linked, `)),
    ]);
    expect(r.tars.get('node2')).toEqual(['lib', 'lib/a.js', 'public']);
  });

  it('a delta of bytes that do not compress is sent as a plain tar, and the node unpacks it so', async () => {
    const noise = crypto.randomBytes(3 << 20);
    const r = await run({ onB: [], next: release('noise', { ...FILES, 'public/video.bin': noise }) });
    expect(r.infos).toEqual([expect.stringMatching(/sent in one 3\.\d MB uncompressed tar, 3 hard-linked/)]);
    expect(r.uploads('node1')[0]).toMatch(/\.tar$/);
    expect(r.unpack('node1')?.command).toMatch(/ tar -xpf \S+ -C /);
    // Text compresses: gzipped, unpacked with -z.
    const text = 'const answer = 42; // the same line again\n'.repeat(80_000);
    const t = await run({ onB: [], next: release('text', { ...FILES, 'public/bundle.js': text }) });
    expect(t.infos[0]).not.toContain('uncompressed');
    expect(t.uploads('node1')[0]).toMatch(/\.tar\.gz$/);
    expect(t.unpack('node1')?.command).toMatch(/ tar -xzpf \S+ -C /);
  });

  it('cold nodes read no manifest and get the whole release, packed once', async () => {
    const r = await run({ cold: true, onB: [] });
    expect(r.reads).toHaveLength(0);
    expect(r.infos).toEqual([expect.stringMatching(/^delta from no release \(the whole release\): 4 file\(s\)/)]);
    expect(r.tars.get('node3')).toEqual(['lib', 'lib/a.js', 'lib/b.js', 'public', 'public/app.css', 'server.js']);
    expect(r.unpack('node3')).toBeUndefined();
  });

  it('a node whose linked files differ from the manifest is named and gets the whole release', async () => {
    const r = await run({
      answer: (node, command) =>
        node === 'node2' && command.includes('cp -l --parents')
          ? { code: 1, stdout: `./lib/a.js: FAILED\n${CONTENT_DIFFERS}\n` }
          : undefined,
    });
    const warned = r.made.events.flatMap((e) => (e.type === 'warn' && e.node === 'node2' ? [e.message] : []));
    expect(warned).toEqual([
      `node2: the new release (files hard-linked from ${OLD}) does not match the build: file(s) differ from the ` +
        'manifest: lib/a.js; sending the whole release',
    ]);
    expect(r.uploads('node2')).toHaveLength(2);
    expect(r.uploads('node2')[1]).toMatch(/whole\.tar\.gz$/);
    expect(r.uploads('node1')).toHaveLength(1);
    expect(r.outcome.nodes).toHaveLength(4);
  });

  it('a manifest that is not valid is not used: those nodes get the whole release', async () => {
    const r = await run({
      answer: (_node, command) =>
        command.includes('head -c') && command.includes(B)
          ? { stdout: '{"path":"../x","type":"d","mode":1}\n' }
          : undefined,
    });
    expect(r.infos.map((i) => i.split(':')[0])).toEqual([
      `delta from ${OLD}`,
      'delta from no release (the whole release)',
    ]);
    expect(r.made.events.some((e) => e.type === 'warn' && /manifest of .* on node3 is not valid/.test(e.message))).toBe(
      true,
    );
  });
});
