import { spawn, spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { resolveConfig } from '../../src/config/load.js';
import { validateUserConfig } from '../../src/config/validate.js';
import type { NodeSpec } from '../../src/inventory/types.js';
import { relayTree } from '../../src/inventory/relay-tree.js';
import { layout } from '../../src/remote/paths.js';
import { fetchArtifact } from '../../src/remote/pull.js';
import { armSender, keyBlob, relayKeyLine, relaySend, revokeRelay, trustRelayKey } from '../../src/remote/relay.js';
import { render } from '../../src/remote/tokens.js';
import { makeRunKey } from '../../src/transport/keygen.js';
import { linesForHost, parseKnownHosts } from '../../src/transport/known-hosts.js';
import { MeteredTransport } from '../../src/transport/metered.js';
import type { NodeSession, Transport } from '../../src/transport/types.js';

const l = layout('/srv/app');
const RUN = '20261121-170000-abc123';
const BLOB = 'AAAAC3NzaC1lZDI1NTE5AAAAIB1cQ==';
const grant = {
  runId: RUN,
  from: ['10.0.0.1'],
  expires: new Date('2026-11-21T18:00:00Z'),
  dest: '/srv/app/releases/R1',
  linkDest: '/srv/app/releases/R0',
};
const temps: string[] = [];
const temp = () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fanout-unit-'));
  temps.push(dir);
  return dir;
};
afterEach(() => {
  for (const dir of temps.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
});

/** Runs a rendered command in a real shell with HOME set, the way a node's sshd session would. */
function sh(command: string, home: string, input?: string, env: NodeJS.ProcessEnv = {}) {
  return spawnSync('sh', ['-c', command], { encoding: 'utf8', input, env: { ...process.env, HOME: home, ...env } });
}

describe('the relay tree', () => {
  const names = (n: number) => Array.from({ length: n }, (_, i) => `node${i + 1}`);

  it('seeds from the deploy machine, then breadth first, `width` children per node, in inventory order', () => {
    const tree = relayTree(names(4), 1, 2);
    expect(tree.seeds).toEqual(['node1']);
    expect(Object.fromEntries(tree.parent)).toEqual({ node2: 'node1', node3: 'node1', node4: 'node2' });
    expect(tree.depth).toBe(2);
    const wide = relayTree(names(11), 2, 3);
    expect(wide.children.get('node1')).toEqual(['node3', 'node4', 'node5']);
    expect(wide.children.get('node2')).toEqual(['node6', 'node7', 'node8']);
    expect(wide.children.get('node3')).toEqual(['node9', 'node10', 'node11']);
    expect(wide.depth).toBe(2);
  });

  it('is plain push when there are no more nodes than seeds', () => {
    const tree = relayTree(names(2), 2, 4);
    expect(tree.seeds).toEqual(['node1', 'node2']);
    expect(tree.parent.size).toBe(0);
    expect(tree.depth).toBe(0);
  });

  it('refuses no seeds or no width', () => {
    expect(() => relayTree(names(3), 0, 2)).toThrow(/at least one seed/);
    expect(() => relayTree(names(3), 1, 0)).toThrow(/width/);
  });
});

describe('the relay key line on a receiver', () => {
  it('restricts the key: restrict, from=, expiry-time in UTC, and a forced rsync into the new release only', () => {
    const line = relayKeyLine(`ssh-ed25519 ${BLOB} whatever`, grant);
    const [options, command] = line.split(/,command=/);
    expect(options).toBe('restrict,from="10.0.0.1",expiry-time="20261121180000Z"');
    expect(command).toMatch(/^"sh -c '.*' relink-relay \/srv\/app\/releases\/R1\/ \/srv\/app\/releases\/R0" /);
    expect(line.endsWith(` ssh-ed25519 ${BLOB} relink-relay-${RUN}`)).toBe(true);
    expect(line.split('\n')).toHaveLength(1);
  });

  /** The forced command as sshd runs it: the option's text with \" read as ", through the login shell. */
  function forced(line: string, original: string) {
    const text = line.match(/command="((?:[^"\\]|\\.)*)"/)![1]!.replaceAll('\\"', '"');
    const bin = temp();
    fs.writeFileSync(path.join(bin, 'rsync'), '#!/bin/sh\nprintf "%s|" "$@"\n', { mode: 0o755 });
    return sh(text, bin, undefined, { SSH_ORIGINAL_COMMAND: original, PATH: `${bin}:${process.env.PATH}` });
  }

  it("runs rsync's receiving half with this run's paths, whatever paths the sender names", () => {
    const line = relayKeyLine(`ssh-ed25519 ${BLOB}`, grant);
    const run = forced(line, 'rsync --server -lDtpre.iLsfxCIvu --delete --link-dest /etc . /root/.ssh/');
    expect(run.status).toBe(0);
    expect(run.stdout).toBe(
      '--server|-lDtpre.iLsfxCIvu|--delete|--link-dest=/srv/app/releases/R0|.|/srv/app/releases/R1/|',
    );
    const cold = relayKeyLine(`ssh-ed25519 ${BLOB}`, { ...grant, linkDest: undefined });
    expect(forced(cold, 'rsync --server -lDtpre.iLsfxCIvu . x').stdout).toBe(
      '--server|-lDtpre.iLsfxCIvu|--delete|.|/srv/app/releases/R1/|',
    );
  });

  it.each([
    'rm -rf /',
    'rsync --server -slDtpre.iLsfxCIvu . /etc',
    'rsync --server --sender -lDtpr . /',
    'rsync --server -lDt;id . /',
    'rsync --server -lDt$(id) . /',
    'rsync --server * /',
    'sh -c id',
    '',
  ])('refuses anything else: %j', (original) => {
    const run = forced(relayKeyLine(`ssh-ed25519 ${BLOB}`, grant), original);
    expect(run.status).toBe(1);
    expect(run.stdout).toBe('');
    expect(run.stderr).toMatch(/refused by the relay key of this run/);
  });

  it('refuses hostile paths, patterns and keys before anything is sent', () => {
    expect(() => relayKeyLine(`ssh-ed25519 ${BLOB}`, { ...grant, dest: '/srv/a\nssh-ed25519 AAAA evil' })).toThrow(
      /line break/,
    );
    expect(() => relayKeyLine(`ssh-ed25519 ${BLOB}`, { ...grant, from: ['*",command="id'] })).toThrow(/from=/);
    expect(() => relayKeyLine(`ssh-ed25519 ${BLOB}`, { ...grant, from: [] })).toThrow(/from=/);
    expect(() => relayKeyLine(`ssh-rsa ${BLOB}`, grant)).toThrow(/ed25519/);
    expect(() => relayKeyLine(`ssh-ed25519 ${BLOB}`, { ...grant, runId: '../x' })).toThrow(/unsafe/);
    // A " in a path stays inside the command: sshd reads \" back as ".
    const quoted = relayKeyLine(`ssh-ed25519 ${BLOB}`, { ...grant, dest: '/srv/a"b' });
    expect(forced(quoted, 'rsync --server -lDtpr . x').stdout).toContain('|/srv/a"b/|');
  });
});

describe('the run key on a node, in a real shell', () => {
  it('is appended after a last line without a newline, and removed leaving the other keys as they were', () => {
    const home = temp();
    fs.mkdirSync(path.join(home, '.ssh'));
    const keys = path.join(home, '.ssh', 'authorized_keys');
    fs.writeFileSync(keys, 'ssh-ed25519 AAAAother ana@laptop');
    const line = relayKeyLine(`ssh-ed25519 ${BLOB}`, grant);
    expect(sh(render(trustRelayKey(line)), home).status).toBe(0);
    expect(fs.readFileSync(keys, 'utf8')).toBe(`ssh-ed25519 AAAAother ana@laptop\n${line}\n`);
    expect(sh(render(trustRelayKey(line)), home).status).toBe(0);
    expect(sh(render(revokeRelay(l, RUN, BLOB, 'node1')), home).status).toBe(0);
    expect(fs.readFileSync(keys, 'utf8')).toBe('ssh-ed25519 AAAAother ana@laptop\n');
    expect(fs.statSync(keys).mode & 0o777).toBe(0o600);
    // Again, and with no authorized_keys at all: nothing to do, still success.
    expect(sh(render(revokeRelay(l, RUN, BLOB, 'node1')), home).status).toBe(0);
    fs.rmSync(keys);
    expect(sh(render(revokeRelay(l, RUN, BLOB, 'node1')), home).status).toBe(0);
  });

  it('is removed right by nodes that share a home directory, all at once', async () => {
    const home = temp();
    fs.mkdirSync(path.join(home, '.ssh'));
    const keys = path.join(home, '.ssh', 'authorized_keys');
    const other = 'ssh-ed25519 AAAAother ana@laptop\n';
    const line = relayKeyLine(`ssh-ed25519 ${BLOB}`, grant);
    for (let round = 0; round < 5; round++) {
      fs.writeFileSync(keys, other);
      for (let n = 1; n <= 4; n++) expect(sh(render(trustRelayKey(line)), home).status).toBe(0);
      const codes = await Promise.all(
        [1, 2, 3, 4].map(
          (n) =>
            new Promise<number | null>((resolve) =>
              spawn('sh', ['-c', render(revokeRelay(l, RUN, BLOB, `node${n}`))], {
                env: { ...process.env, HOME: home },
              }).on('close', resolve),
            ),
        ),
      );
      expect(codes).toEqual([0, 0, 0, 0]);
      expect(fs.readFileSync(keys, 'utf8')).toBe(other);
    }
    expect(render(revokeRelay(l, RUN, BLOB, 'node1'))).toBe(
      `rm -rf /srv/app/.relink/relay-${RUN} && { ! grep -qsF -e ${BLOB} "$HOME"/.ssh/authorized_keys || ` +
        `{ umask 077 && { grep -vF -e ${BLOB} "$HOME"/.ssh/authorized_keys > "$HOME"/.ssh/authorized_keys.relink-node1 ; ` +
        'test $? -le 1 ; } && mv -f "$HOME"/.ssh/authorized_keys.relink-node1 "$HOME"/.ssh/authorized_keys ; } ; } && ' +
        `! grep -qsF -e ${BLOB} "$HOME"/.ssh/authorized_keys && ` +
        "{ find /srv/app/.relink -maxdepth 1 -name 'relay-*' -type d -exec rm -rf '{}' + || true ; }",
    );
    expect(() => revokeRelay(l, RUN, BLOB, '../x')).toThrow(/unsafe node name/);
  });

  it("gives a sender its private key from stdin in a 0700 dir, mode 0600, beside its receivers' host keys", () => {
    const root = layout(temp());
    const hosts = ['[10.0.0.2]:22 ssh-ed25519 AAAAhost2', '[10.0.0.3]:2222 ssh-ed25519 AAAAhost3'];
    const key = '-----BEGIN OPENSSH PRIVATE KEY-----\nsecret\n-----END OPENSSH PRIVATE KEY-----\n';
    expect(sh(render(armSender(root, RUN, hosts)), temp(), key).status).toBe(0);
    const dir = path.join(root.state, `relay-${RUN}`);
    expect(fs.statSync(dir).mode & 0o777).toBe(0o700);
    expect(fs.statSync(path.join(dir, 'id')).mode & 0o777).toBe(0o600);
    expect(fs.readFileSync(path.join(dir, 'id'), 'utf8')).toBe(key);
    expect(fs.readFileSync(path.join(dir, 'known_hosts'), 'utf8')).toBe(`${hosts.join('\n')}\n`);
    // A relay dir (with its private key) that a killed run left behind goes too.
    const leftover = path.join(root.state, 'relay-20261101-000000-dead01');
    fs.mkdirSync(leftover, { mode: 0o700 });
    fs.writeFileSync(path.join(leftover, 'id'), key, { mode: 0o600 });
    expect(sh(render(revokeRelay(root, RUN, BLOB, 'node1')), temp()).status).toBe(0);
    expect(fs.existsSync(dir)).toBe(false);
    expect(fs.existsSync(leftover)).toBe(false);
  });
});

describe('the node-to-node copy and the fetch render exact shell text', () => {
  it('copies with the run key only, host keys checked, under a time limit', () => {
    const copy = {
      source: '/srv/app/releases/R1',
      dest: '/srv/app/releases/R1',
      linkDest: '/srv/app/releases/R0',
      user: 'deploy',
      address: 'fd00::2',
      port: 2222,
      timeoutSeconds: 600,
      connectTimeoutSeconds: 10,
    };
    expect(render(relaySend(l, RUN, copy))).toBe(
      `cd /srv/app/.relink/relay-${RUN} && timeout -k 5 600 rsync -rlpDc --delete --link-dest=/srv/app/releases/R0 ` +
        "-e 'ssh -F /dev/null -i id -o IdentitiesOnly=yes -o IdentityAgent=none -o UserKnownHostsFile=known_hosts " +
        '-o GlobalKnownHostsFile=/dev/null -o StrictHostKeyChecking=yes -o UpdateHostKeys=no -o BatchMode=yes ' +
        "-o ConnectTimeout=10 -p 2222' /srv/app/releases/R1/ 'deploy@[fd00::2]:/srv/app/releases/R1/'",
    );
    expect(() => relaySend(l, RUN, { ...copy, user: 'x;id' })).toThrow(/unsafe/);
    expect(() => relaySend(l, RUN, { ...copy, address: '10.0.0.2 -oProxyCommand=id' })).toThrow(/unsafe/);
  });

  it('fetches with curl or wget, certificates verified, http(s) only', () => {
    const text = render(fetchArtifact('https://a.example/r/R1.tar.gz', '/srv/app/.relink/incoming/R1.tar.gz', 60_000));
    expect(text).toBe(
      'mkdir -p /srv/app/.relink/incoming && if command -v curl >/dev/null 2>&1 ; then ' +
        'curl -fsSL --proto =http,https ' +
        '--proto-redir =http,https --retry 2 --max-time 60 -o /srv/app/.relink/incoming/R1.tar.gz ' +
        'https://a.example/r/R1.tar.gz ; elif command -v wget >/dev/null 2>&1 ; then wget -nv -t 3 -T 60 -O ' +
        '/srv/app/.relink/incoming/R1.tar.gz https://a.example/r/R1.tar.gz ; else echo ' +
        "'neither curl nor wget is installed on this node' >&2; exit 127 ; fi",
    );
    expect(text).not.toMatch(/ -k |--insecure|no-check-certificate/);
    expect(() => fetchArtifact('file:///etc/passwd', '/x', 1000)).toThrow(/http/);
    expect(() => fetchArtifact('https://a.example/x y', '/x', 1000)).toThrow(/http/);
  });
});

describe('host keys for the senders', () => {
  it("takes this machine's entries for one receiver only, plain or hashed, under its exact label", () => {
    const hashed = `|1|${Buffer.from('salt').toString('base64')}|`;
    const hash = crypto.createHmac('sha1', Buffer.from('salt')).update('[10.0.0.3]:2222').digest('base64');
    const entries = parseKnownHosts(
      [
        '[10.0.0.2]:22,10.0.0.2 ssh-ed25519 AAAAtwo',
        `${hashed}${hash} ssh-ed25519 AAAAthree`,
        '@revoked * ssh-rsa AAAAold',
        '10.0.0.* ssh-ed25519 AAAAwild',
      ].join('\n'),
    );
    expect(linesForHost(entries, '10.0.0.3', 2222)).toEqual([
      '[10.0.0.3]:2222 ssh-ed25519 AAAAthree',
      '@revoked [10.0.0.3]:2222 ssh-rsa AAAAold',
    ]);
    expect(linesForHost(entries, '10.0.0.2', 22)).toEqual([
      '10.0.0.2 ssh-ed25519 AAAAtwo',
      '@revoked 10.0.0.2 ssh-rsa AAAAold',
      '10.0.0.2 ssh-ed25519 AAAAwild',
    ]);
    expect(linesForHost(entries, '192.168.1.1', 22)).toEqual(['@revoked 192.168.1.1 ssh-rsa AAAAold']);
  });
});

describe('the run key', () => {
  it('is a fresh ed25519 pair whose temp dir is gone once it is read', async () => {
    const dir = temp();
    const saved = process.env.TMPDIR;
    process.env.TMPDIR = dir;
    try {
      const a = await makeRunKey(`relink-relay-${RUN}`);
      const b = await makeRunKey(`relink-relay-${RUN}`);
      expect(keyBlob(a.publicKey)).not.toBe(keyBlob(b.publicKey));
      expect(a.publicKey).toMatch(new RegExp(`^ssh-ed25519 \\S+ relink-relay-${RUN}$`));
      expect(a.privateKey).toMatch(/^-----BEGIN OPENSSH PRIVATE KEY-----\n[\s\S]+-----END OPENSSH PRIVATE KEY-----\n$/);
      expect(fs.readdirSync(dir)).toEqual([]);
    } finally {
      if (saved === undefined) delete process.env.TMPDIR;
      else process.env.TMPDIR = saved;
    }
  });
});

describe('rollout.fanout in deploy.config.ts', () => {
  const config = (extra: object, env = 'prod') =>
    resolveConfig(
      validateUserConfig({ project: 'p', repo: '.', deployTo: '/srv/p', ...extra }, 'deploy.config.ts'),
      env,
      '/x/deploy.config.ts',
    );

  it('is push by default, and per environment replaced whole', () => {
    expect(config({}).rollout.fanout).toEqual({ mode: 'push', seeds: 2, width: 4, timeoutMs: 600_000 });
    const both = {
      rollout: { fanout: { mode: 'relay', seeds: 3, from: ['10.0.0.0/8'] } },
      environments: { dev: { rollout: { fanout: { mode: 'relay', width: 2 } } } },
    };
    expect(config(both).rollout.fanout).toMatchObject({ mode: 'relay', seeds: 3, width: 4, from: ['10.0.0.0/8'] });
    expect(config(both, 'dev').rollout.fanout).toMatchObject({ mode: 'relay', seeds: 2, width: 2, from: undefined });
  });

  it('takes a URL with template variables, spaces inside them included', () => {
    const url = 'https://{{ host.store }}:8443/a/{{ release }}.tar.gz?sum={{sha256}}';
    expect(config({ rollout: { fanout: { mode: 'pull', url } } }).rollout.fanout.url).toBe(url);
  });

  it('refuses pull without a URL, a URL with a secret, and an unsafe from pattern', () => {
    expect(() => config({ rollout: { fanout: { mode: 'pull' } } })).toThrow(/mode 'pull' needs a url/);
    expect(() => config({ rollout: { fanout: { mode: 'pull', url: 'https://a/{{ secret.TOKEN }}.tar.gz' } } })).toThrow(
      /no secrets in the URL/,
    );
    expect(() => config({ rollout: { fanout: { mode: 'pull', url: 'ftp://a/x.tar.gz' } } })).toThrow(/http/);
    expect(() => config({ rollout: { fanout: { mode: 'relay', from: ['1.2.3.4",command="id'] } } })).toThrow(/CIDR/);
  });
});

describe('MeteredTransport', () => {
  it('counts command lines, stdin, uploaded files and stream writes, and passes everything through', async () => {
    const file = path.join(temp(), 'a.bin');
    fs.writeFileSync(file, Buffer.alloc(5000));
    const sink = new PassThrough();
    const got: Buffer[] = [];
    sink.on('data', (c: Buffer) => got.push(c));
    const inner: Transport = {
      async connect(node: NodeSpec): Promise<NodeSession> {
        return {
          node,
          exec: async () => ({ code: 0, stdout: 'ok', stderr: '' }),
          stream: async () => ({
            stdin: sink,
            stdout: new PassThrough(),
            stderr: new PassThrough(),
            done: Promise.resolve(0),
          }),
          upload: async () => undefined,
          close: async () => undefined,
        };
      },
    };
    const metered = new MeteredTransport(inner);
    const node = { name: 'n1', address: 'a', port: 22, user: 'u', roles: [], vars: {} };
    const session = await metered.connect(node);
    expect(session.node).toBe(node);
    expect((await session.exec(['echo', 'hi'], { stdin: 'abc' })).stdout).toBe('ok');
    expect(metered.sentBytes()).toBe('echo hi'.length + 3);
    await session.upload(file, '/remote/a.bin');
    expect(metered.sentBytes()).toBe(10 + 5000);
    const stream = await session.stream(['rsync', '--server']);
    const source = new PassThrough();
    source.pipe(stream.stdin);
    source.end(Buffer.alloc(700));
    await new Promise((r) => setImmediate(r));
    expect(Buffer.concat(got).length).toBe(700);
    expect(metered.sentBytes()).toBe(5010 + 'rsync --server'.length + 700);
  });
});
