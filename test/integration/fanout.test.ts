import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import {
  onNode,
  Project,
  readSandbox,
  type Result,
  type Sandbox,
  servedThroughLb,
  stopApps,
} from '../helpers/project.js';

let sb: Sandbox;
const NODES = ['node1', 'node2', 'node3', 'node4'];
/** The release of v2.0.0 carries this much incompressible data, so the bytes of the release dominate. */
const BLOB_BYTES = 3_000_000;

interface ArtifactSite {
  dir: string;
  path: string;
  hosts: Record<string, string>;
}

beforeAll(() => {
  sb = readSandbox(inject('sandboxDir'));
});

const artifacts = () => (sb.nginx as unknown as { artifacts: ArtifactSite }).artifacts;
const haproxy = () => ['lb:', '  driver: haproxy', `  socket: ${sb.haproxy.socket}`, '  backend: app'];

/** The same bytes in every project: a sha256 chain, which no compressor shrinks. */
function addBlob(repo: string): void {
  const chunks: Buffer[] = [];
  let block = crypto.createHash('sha256').update('relink fan-out').digest();
  for (let n = 0; n < BLOB_BYTES; n += block.length) {
    chunks.push(block);
    block = crypto.createHash('sha256').update(block).digest();
  }
  fs.writeFileSync(path.join(repo, 'blob.bin'), Buffer.concat(chunks).subarray(0, BLOB_BYTES));
}

/** What relink says it sent from this machine during distribute, in bytes. */
function sent(result: Result): number {
  const said = result.stdout.match(/distribute \([^)]*\): sent ([\d.]+) ([kM])B from this machine to 4 node\(s\)/);
  expect(said, result.stdout).not.toBeNull();
  return Number(said![1]) * (said![2] === 'M' ? 1e6 : 1e3);
}

/** No trace of a run key on any node: no authorized_keys line, no relay dir. */
function noRelayKeyLeft(project: Project): void {
  for (const node of NODES) {
    const keys = path.join(sb.nodes.find((n) => n.name === node)!.dir, 'root', '.ssh', 'authorized_keys');
    expect(fs.readFileSync(keys, 'utf8'), node).not.toContain('relink-relay-');
    expect(
      fs.readdirSync(project.nodePath(node, '.relink')).filter((f) => f.startsWith('relay-')),
      node,
    ).toEqual([]);
  }
}

function fanoutProject(fanout: string): Project {
  stopApps(sb);
  const site = artifacts();
  const project = new Project(sb, {
    lb: haproxy(),
    configExtra: `rollout: { fanout: ${fanout} },`,
    // Where each node finds the artifact store (node3, in its own network namespace, at its gateway).
    vars: Object.fromEntries(NODES.map((n) => [n, `artifactHost: '${site.hosts[n]}'`])),
  });
  project.tag('v2.0.0', addBlob, 'ship a big asset');
  return project;
}

const release = (project: Project, node = 'node1') => project.current(node)!.replace('releases/', '');

/**
 * Each mode: deploy v1.0.0, then v2.0.0 (3 MB more), then roll back, behind HAProxy, and say how many
 * bytes distribute sent from this machine for v2.0.0.
 */
async function deployAndRollBack(project: Project): Promise<number> {
  expect((await project.deploy(['prod', 'v1.0.0'])).code).toBe(0);
  const first = release(project);
  const deployed = await project.deploy(['prod', 'v2.0.0']);
  expect(deployed.stderr).toBe('');
  expect(deployed.code).toBe(0);
  const second = release(project);
  expect(second).toMatch(/^hello_prod_v2\.0\.0_/);
  for (const node of NODES) {
    expect(project.current(node), node).toBe(`releases/${second}`);
    const blob = fs.readFileSync(project.nodePath(node, 'releases', second, 'blob.bin'));
    expect(blob.length, node).toBe(BLOB_BYTES);
    expect(
      project.journal(node).some((e) => e.release === second && e.event === 'smoke_ok'),
      node,
    ).toBe(true);
  }
  expect((await servedThroughLb(sb, 'v2.0.0')).every((a) => a.includes(`from v2.0.0 (${second})`))).toBe(true);
  const bytes = sent(deployed);
  const back = await project.deploy(['rollback', 'prod', '--last']);
  expect(back.code).toBe(0);
  for (const node of NODES) expect(project.current(node), node).toBe(`releases/${first}`);
  expect((await servedThroughLb(sb, 'v1.0.0')).every((a) => a.includes('v1.0.0'))).toBe(true);
  return bytes;
}

describe('fan-out modes on the 4-node sandbox: push, relay, pull', () => {
  const bytes: Record<string, number> = {};
  const projects: Project[] = [];
  afterAll(() => {
    stopApps(sb);
    for (const p of projects) p.remove();
  });

  it('push (the default): this machine sends the release to every node', async () => {
    const project = fanoutProject("{ mode: 'push' }");
    projects.push(project);
    bytes.push = await deployAndRollBack(project);
    expect(bytes.push).toBeGreaterThan(4 * BLOB_BYTES * 0.95);
  });

  it('relay: the seed gets it from here, the nodes pass it on with a per-run key that is gone afterwards', async () => {
    // node1 seeds node2 and node3, node2 passes it to node4. node3 lives in a network namespace of its own
    // and reaches the others only through this machine, so it is a leaf here, and sshd sees its sender
    // come from the host end of its veth pair: `from` names both networks.
    const project = fanoutProject("{ mode: 'relay', seeds: 1, width: 2, from: ['127.0.0.1', '10.213.0.0/16'] }");
    projects.push(project);
    bytes.relay = await deployAndRollBack(project);
    noRelayKeyLeft(project);
    // Relayed nodes hard-link what did not change against their current release (server.js: v1.0.0's).
    const log = await project.deploy(['prod', 'v2.0.0']);
    expect(log.code).toBe(0);
    const now = release(project, 'node4');
    const linked = fs.statSync(project.nodePath('node4', 'releases', now, 'server.js'));
    expect(linked.nlink).toBeGreaterThan(1);
    noRelayKeyLeft(project);
    // The seed's share: one copy of the release from this machine, not four.
    expect(bytes.relay).toBeGreaterThan(BLOB_BYTES * 0.95);
    expect(bytes.relay).toBeLessThan(bytes.push! * 0.4);
  });

  it('relay as an ordinary user whose home the nodes share: one authorized_keys for all, left as it was', async () => {
    const keys = '/var/lib/relink/.ssh/authorized_keys';
    const before = fs.readFileSync(keys, 'utf8');
    stopApps(sb);
    const project = new Project(sb, {
      user: 'relink',
      lb: haproxy(),
      configExtra: "rollout: { fanout: { mode: 'relay', seeds: 1, width: 2, from: ['127.0.0.1', '10.213.0.0/16'] } },",
    });
    projects.push(project);
    for (const version of ['v1.0.0', 'v1.1.0']) {
      const result = await project.deploy(['prod', version]);
      expect(result.stderr).toBe('');
      expect(result.code).toBe(0);
      const now = release(project);
      for (const node of NODES) expect(project.current(node), node).toBe(`releases/${now}`);
    }
    expect(fs.readFileSync(keys, 'utf8')).toBe(before);
  });

  it('pull: nodes fetch the published tarball from nginx and check it; this machine sends only commands', async () => {
    const site = artifacts();
    const url = `http://{{ host.artifactHost }}:${sb.nginx.port}${site.path}{{ release }}.tar.gz`;
    const publish = `install -m 644 {{ file }} ${site.dir}/{{ release }}.tar.gz`;
    const project = fanoutProject(`{ mode: 'pull', url: ${JSON.stringify(url)}, publish: ${JSON.stringify(publish)} }`);
    projects.push(project);
    bytes.pull = await deployAndRollBack(project);
    expect(bytes.pull).toBeLessThan(bytes.push! * 0.05);
    const published = fs.readdirSync(site.dir).filter((f) => f.startsWith('hello_prod_v2.0.0_'));
    expect(published.length).toBeGreaterThan(0);
  });

  it('a relay that fails on one node: named, nothing switched, no new release and no key left anywhere', async () => {
    const project = fanoutProject("{ mode: 'relay', seeds: 1, width: 2, from: ['127.0.0.1', '10.213.0.0/16'] }");
    projects.push(project);
    expect((await project.deploy(['prod', 'v1.0.0'])).code).toBe(0);
    const before = NODES.map((n) => project.current(n));
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'relink-fanout-tmp-'));
    // node4 receives only from node2; with rsync gone from its own mount namespace, that copy fails.
    onNode(sb, 'node4', 'mount --bind /bin/false /usr/bin/rsync');
    let result: Result;
    try {
      result = await project.deploy(['prod', 'v2.0.0'], { TMPDIR: tmp });
    } finally {
      onNode(sb, 'node4', 'umount /usr/bin/rsync');
    }
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/distribute failed on node4: node4: relay from node2 failed \(exit \d+\)/);
    expect(result.stderr).toMatch(/nothing was switched/);
    expect(NODES.map((n) => project.current(n))).toEqual(before);
    for (const node of NODES)
      expect(
        project.releases(node).filter((r) => r.includes('v2.0.0')),
        node,
      ).toEqual([]);
    noRelayKeyLeft(project);
    // Nor on this machine: the key's temp dir went as soon as the key was read.
    expect(fs.readdirSync(tmp).filter((f) => f.startsWith('relink-key-'))).toEqual([]);
    fs.rmSync(tmp, { recursive: true, force: true });
    // And the next relay goes through.
    expect((await project.deploy(['prod', 'v2.0.0'])).code).toBe(0);
    noRelayKeyLeft(project);
  });

  it('a pull whose URL serves nothing: every node named with the URL and how to check it', async () => {
    const site = artifacts();
    const url = `http://{{ host.artifactHost }}:${sb.nginx.port}${site.path}missing-{{ release }}.tar.gz`;
    const project = fanoutProject(`{ mode: 'pull', url: ${JSON.stringify(url)} }`);
    projects.push(project);
    const result = await project.deploy(['prod', 'v1.0.0']);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/distribute failed on node1 \(and 3 more nodes: node2, node3, node4\): node1: /);
    expect(result.stderr).toMatch(
      /node1: fetching http:\/\/127\.0\.0\.1:\d+\/artifacts\/missing-\S+ failed \(exit 22\)/,
    );
    expect(result.stderr).toMatch(/check that the artifact store serves it to the node \(from node1: curl -fsSI /);
    for (const node of NODES) expect(project.current(node), node).toBeUndefined();
  });
});
