import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { onNode, Project, readSandbox, servedThroughLb, stopApps, type Sandbox } from '../helpers/project.js';

let sb: Sandbox;
let project: Project;
const NODES = ['node1', 'node2', 'node3', 'node4'];
const BIG = crypto.randomBytes(1 << 20);

const write = (repo: string, file: string, content: string | Buffer) => {
  fs.mkdirSync(path.dirname(path.join(repo, file)), { recursive: true });
  fs.writeFileSync(path.join(repo, file), content);
};

async function deploy(version: string, upload: 'tar' | 'rsync' = 'tar') {
  const result = await project.deploy(['prod', version], { IT_UPLOAD: upload });
  expect(result.code, result.stderr).toBe(0);
  for (const node of NODES) expect(project.current(node), node).toContain(`_${version}_`);
  return result;
}

/** The release dir of a version on a node, as the node names it. */
const dirOf = (node: string, version: string) =>
  `${project.deployTo}/releases/${project.releases(node).find((r) => r.includes(`_${version}_`))}`;

/** Inode numbers of files, read on the node itself. */
const inodes = (node: string, ...files: string[]) =>
  onNode(sb, node, `stat -c %i ${files.join(' ')}`)
    .trim()
    .split('\n');

beforeAll(() => {
  sb = readSandbox(inject('sandboxDir'));
  stopApps(sb);
  project = new Project(sb, {
    lb: ['lb:', '  driver: haproxy', `  socket: ${sb.haproxy.socket}`, '  backend: app'],
    configExtra: "rollout: { upload: process.env.IT_UPLOAD === 'rsync' ? 'rsync' : 'tar' },",
  });
});
afterAll(() => {
  stopApps(sb);
  project.remove();
});

describe('a warm deploy sends each node what it lacks, once per current release, and links the rest', () => {
  it('tar: one changed file is sent, every unchanged file is a hard link into the previous release', async () => {
    project.tag('v5.0.0', (repo) => {
      write(repo, 'public/big.bin', BIG);
      write(repo, 'public/data.txt', 'one\n');
    });
    const cold = await deploy('v5.0.0');
    expect(cold.stdout).toMatch(/delta from no release \(the whole release\): .* for node1, node2, node3, node4/);
    project.tag('v5.0.1', (repo) => write(repo, 'public/data.txt', 'two\n'));
    const warm = await deploy('v5.0.1');
    // One delta for the four nodes: they are all on v5.0.0. REVISION and the like change with the commit.
    expect(warm.stdout).toMatch(
      /delta from \S+_v5\.0\.0_\S+: [2-5] file\(s\) sent in one \d+ kB tar, \d+ hard-linked, for node1, node2, node3, node4/,
    );
    expect(warm.stdout.match(/delta from /g)).toHaveLength(1);
    for (const node of NODES) {
      const [before, after] = [dirOf(node, 'v5.0.0'), dirOf(node, 'v5.0.1')];
      const [a, b] = inodes(node, `${before}/public/big.bin`, `${after}/public/big.bin`);
      expect(a, node).toBe(b);
      const [c, d] = inodes(node, `${before}/public/data.txt`, `${after}/public/data.txt`);
      expect(c, node).not.toBe(d);
      expect(onNode(sb, node, `cat ${after}/public/data.txt`)).toBe('two\n');
      expect(fs.existsSync(project.nodePath(node, 'current', '.relink', 'manifest')), node).toBe(true);
      expect(fs.existsSync(project.nodePath(node, 'current', '.relink', 'check.sha256')), node).toBe(false);
    }
    expect(await servedThroughLb(sb, 'v5.0.1')).toHaveLength(8);
  });

  it('a linked file changed on one node since its release is caught on that node, named, and sent whole', async () => {
    // node3's running release (v5.0.1) has a file that is no longer what its manifest says.
    onNode(sb, 'node3', `printf tampered >> ${project.deployTo}/current/public/big.bin`);
    project.tag('v5.0.2', (repo) => write(repo, 'public/data.txt', 'three\n'));
    const result = await deploy('v5.0.2');
    const said = result.stdout + result.stderr;
    expect(said).toMatch(
      /node3: the new release \(files hard-linked from \S+_v5\.0\.1_\S+\) does not match the build: file\(s\) differ from the manifest: public\/big\.bin; sending the whole release/,
    );
    const sum = crypto.createHash('sha256').update(BIG).digest('hex');
    for (const node of NODES) {
      const [before, after] = [dirOf(node, 'v5.0.1'), dirOf(node, 'v5.0.2')];
      expect(onNode(sb, node, `sha256sum < ${after}/public/big.bin`).split(' ')[0], node).toBe(sum);
      const [a, b] = inodes(node, `${before}/public/big.bin`, `${after}/public/big.bin`);
      if (node === 'node3') expect(a).not.toBe(b);
      else expect(a, node).toBe(b);
    }
    expect(await servedThroughLb(sb, 'v5.0.2')).toHaveLength(8);
  });

  it('rsync: the same delta, in one upload step', async () => {
    project.tag('v5.0.3', (repo) => write(repo, 'public/data.txt', 'four\n'));
    const result = await deploy('v5.0.3', 'rsync');
    expect(result.stdout).toMatch(/node1 +distribute:upload +ok .*unchanged files hard-linked from \S+_v5\.0\.2_/);
    for (const node of NODES) {
      const [a, b] = inodes(node, `${dirOf(node, 'v5.0.2')}/public/big.bin`, `${dirOf(node, 'v5.0.3')}/public/big.bin`);
      expect(a, node).toBe(b);
      expect(onNode(sb, node, `cat ${dirOf(node, 'v5.0.3')}/public/data.txt`)).toBe('four\n');
    }
    expect(await servedThroughLb(sb, 'v5.0.3')).toHaveLength(8);
  });
});
