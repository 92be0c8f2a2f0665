import fs from 'node:fs';
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { resolveConfig } from '../../src/config/load.js';
import { parseProxyJump } from '../../src/config/proxy-jump.js';
import type { UserConfig } from '../../src/config/types.js';
import { validateInventory, validateUserConfig } from '../../src/config/validate.js';
import { RelinkError } from '../../src/errors.js';
import type { NodeSpec } from '../../src/inventory/types.js';
import { SshTransport } from '../../src/transport/ssh.js';
import { bounded } from '../../src/transport/ssh-session.js';
import type { NodeSession } from '../../src/transport/types.js';
import { clientFiles, keyPair, startSshServer, type TestSshServer } from '../helpers/ssh-server.js';

describe('proxyJump: OpenSSH ProxyJump syntax', () => {
  it('reads [user@]host[:port] hops, first hop first, user deploy and port 22 by default', () => {
    expect(parseProxyJump('bastion.example.com')).toEqual([
      { user: 'deploy', address: 'bastion.example.com', port: 22 },
    ]);
    expect(parseProxyJump('ops@b1:2222, deploy@[fd00::1]:22')).toEqual([
      { user: 'ops', address: 'b1', port: 2222 },
      { user: 'deploy', address: 'fd00::1', port: 22 },
    ]);
    expect(parseProxyJump('none')).toEqual([]);
    expect(parseProxyJump('')).toEqual([]);
  });

  it('refuses anything else, naming the part', () => {
    expect(() => parseProxyJump('ops@b1,$(reboot)')).toThrow('"$(reboot)" is not a jump host [user@]host[:port]');
    expect(() => parseProxyJump('b1:70000')).toThrow('"b1:70000": port 70000 is not between 1 and 65535');
    expect(() => parseProxyJump('ops@')).toThrow('"ops@" is not a jump host');
  });

  it('is set in ssh (per environment too) and per host, where none opts out', () => {
    const user = validateUserConfig(
      {
        project: 'shop',
        repo: '.',
        deployTo: '/srv/shop',
        ssh: { proxyJump: 'ops@bastion:2222' },
        environments: { dev: { ssh: { proxyJump: 'none' } } },
      },
      'deploy.config.ts',
    ) as UserConfig;
    expect(resolveConfig(user, 'prod', '/p/deploy.config.ts').ssh).toMatchObject({
      proxyJump: [{ user: 'ops', address: 'bastion', port: 2222 }],
      maxConnectionStarts: 10,
      connectTimeoutMs: 10_000,
    });
    expect(resolveConfig(user, 'dev', '/p/deploy.config.ts').ssh.proxyJump).toEqual([]);
    expect(() =>
      validateUserConfig({ project: 'shop', repo: '.', ssh: { proxyJump: 'a b' } }, 'deploy.config.ts'),
    ).toThrow(/ssh\.proxyJump: "a b" is not a jump host/);
    const hosts = [
      { name: 'web1', address: '10.0.0.1', proxyJump: 'none' },
      { name: 'web2', address: '10.0.0.2', proxyJump: 'ops@inner' },
    ];
    const inv = validateInventory({ hosts }, 'prod', 'hosts/prod.yaml');
    expect(inv.hosts.map((h) => h.proxyJump)).toEqual(['none', 'ops@inner']);
    expect(() =>
      validateInventory({ hosts: [{ name: 'web1', address: 'h', proxyJump: 'x;y' }] }, 'prod', 'hosts/prod.yaml'),
    ).toThrow(/hosts\[0\]\.proxyJump: "x;y" is not a jump host/);
  });
});

const clientKey = keyPair();
const cleanup: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const step of cleanup.splice(0).reverse()) await step();
});

async function server(): Promise<TestSshServer> {
  const s = await startSshServer({ clientKey });
  cleanup.push(() => s.close());
  return s;
}

function transport(knownHosts: string[], proxyJump: string): SshTransport {
  const files = clientFiles(clientKey, knownHosts);
  cleanup.push(() => fs.rmSync(files.dir, { recursive: true, force: true }));
  return new SshTransport({
    identityFile: files.key,
    knownHostsFile: files.known,
    strictHostKeys: true,
    connectTimeoutMs: 5000,
    proxyJump: parseProxyJump(proxyJump),
  });
}

const node = (name: string, port: number, proxyJump?: string): NodeSpec => ({
  name,
  address: '127.0.0.1',
  port,
  user: 'deploy',
  roles: [],
  vars: {},
  ...(proxyJump === undefined ? {} : { proxyJump }),
});

async function connect(t: SshTransport, nodes: NodeSpec[]): Promise<NodeSession[]> {
  const sessions = await Promise.all(nodes.map((n) => t.connect(n)));
  cleanup.push(() => Promise.all(sessions.map((s) => s.close())).then(() => undefined));
  return sessions;
}

const settle = () => new Promise((resolve) => setTimeout(resolve, 200));

describe('SSH through jump hosts', () => {
  it('shares one login at the jump host among every node behind it, and closes it after the last session', async () => {
    const [jump, a, b] = [await server(), await server(), await server()];
    const known = [jump, a, b].map((s) => s.knownHostsLine());
    const t = transport(known, `deploy@127.0.0.1:${jump.port}`);
    const sessions = await connect(t, [node('node1', a.port), node('node2', b.port), node('node3', a.port)]);
    // The node runs every command under `timeout`, so it ends there at its deadline.
    const ran = `ran: ${bounded(['uname'], 10_000)}\n`;
    expect(await sessions[1]!.exec(['uname'], { timeoutMs: 10_000 })).toMatchObject({ code: 0, stdout: ran });
    expect(jump.stats).toMatchObject({ logins: 1, forwards: 3 });
    expect(a.stats.logins + b.stats.logins).toBe(3);
    await Promise.all(sessions.map((s) => s.close()));
    await settle();
    expect(jump.stats.open).toBe(0);
    // The next run's connection logs in to the jump host again.
    await connect(t, [node('node1', a.port)]);
    expect(jump.stats.logins).toBe(2);
  });

  it('goes direct for a host whose proxyJump is none, and through its own hops when it names them', async () => {
    const [jump, other, a] = [await server(), await server(), await server()];
    const t = transport(
      [jump, other, a].map((s) => s.knownHostsLine()),
      `deploy@127.0.0.1:${jump.port}`,
    );
    await connect(t, [node('node1', a.port, 'none'), node('node2', a.port, `ops@127.0.0.1:${other.port}`)]);
    expect(jump.stats.connections).toBe(0);
    expect(other.stats).toMatchObject({ logins: 1, forwards: 1 });
    expect(a.stats.logins).toBe(2);
  });

  it('chains two hops: the second rides a channel of the first, each logs in once', async () => {
    const [j1, j2, a] = [await server(), await server(), await server()];
    const t = transport(
      [j1, j2, a].map((s) => s.knownHostsLine()),
      `deploy@127.0.0.1:${j1.port},deploy@127.0.0.1:${j2.port}`,
    );
    await connect(t, [node('node1', a.port), node('node2', a.port)]);
    expect(j1.stats).toMatchObject({ logins: 1, forwards: 1 });
    expect(j2.stats).toMatchObject({ logins: 1, forwards: 2 });
    expect(a.stats.logins).toBe(2);
  });

  it('refuses a jump host whose key is not in known_hosts, naming the node and the jump host; the node is never reached', async () => {
    const [jump, a] = [await server(), await server()];
    const t = transport([a.knownHostsLine()], `deploy@127.0.0.1:${jump.port}`);
    const failure = t.connect(node('node1', a.port));
    await expect(failure).rejects.toThrow(
      new RegExp(
        `^node1 \\(deploy@127\\.0\\.0\\.1:${a.port}\\): jump host \\(deploy@127\\.0\\.0\\.1:${jump.port}\\): ` +
          'host key is not in .*known_hosts; refusing',
      ),
    );
    await expect(failure).rejects.toMatchObject({
      hint: expect.stringContaining(`ssh-keyscan -p ${jump.port} 127.0.0.1`),
    });
    expect(a.stats.connections).toBe(0);
    // The same exit code as a node whose key is not known.
    const direct = await t.connect(node('node2', jump.port, 'none')).catch((e: RelinkError) => e);
    expect(direct).toBeInstanceOf(RelinkError);
    expect((await failure.catch((e: RelinkError) => e)).exitCode).toBe((direct as RelinkError).exitCode);
  });

  it("checks the node's own key behind the jump host under the node's address", async () => {
    const [jump, a] = [await server(), await server()];
    const t = transport([jump.knownHostsLine()], `deploy@127.0.0.1:${jump.port}`);
    await expect(t.connect(node('node1', a.port))).rejects.toThrow(
      new RegExp(`^node1 \\(deploy@127\\.0\\.0\\.1:${a.port}\\): host key is not in`),
    );
    expect(jump.stats.forwards).toBe(1);
  });

  it('names the jump host that cannot reach the node, and what to check', async () => {
    const jump = await server();
    const closed = net.createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as net.AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    const t = transport([jump.knownHostsLine()], `deploy@127.0.0.1:${jump.port}`);
    const failure = t.connect(node('node1', port));
    await expect(failure).rejects.toThrow(
      `node1 (deploy@127.0.0.1:${port}): jump host (deploy@127.0.0.1:${jump.port}) cannot open a connection to ` +
        `127.0.0.1:${port}`,
    );
    await expect(failure).rejects.toMatchObject({ hint: expect.stringContaining('AllowTcpForwarding') });
    await settle();
    expect(jump.stats.open).toBe(0);
  });
});
