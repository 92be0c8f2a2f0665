import fs from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import type { NodeSpec } from '../../src/inventory/types.js';
import { SshTransport } from '../../src/transport/ssh.js';
import { bounded } from '../../src/transport/ssh-session.js';
import { backoffMs, droppedAtStart } from '../../src/transport/starts.js';
import type { NodeSession } from '../../src/transport/types.js';
import { clientFiles, keyPair, startSshServer, type TestSshServer } from '../helpers/ssh-server.js';

const clientKey = keyPair();
const cleanup: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const step of cleanup.splice(0).reverse()) await step();
});

async function server(options: { maxStartups?: number; authDelayMs?: number } = {}): Promise<TestSshServer> {
  const s = await startSshServer({ clientKey, ...options });
  cleanup.push(() => s.close());
  return s;
}

function transport(knownHosts: string[], maxConnectionStarts?: number): SshTransport {
  const files = clientFiles(clientKey, knownHosts);
  cleanup.push(() => fs.rmSync(files.dir, { recursive: true, force: true }));
  return new SshTransport({
    identityFile: files.key,
    knownHostsFile: files.known,
    strictHostKeys: true,
    connectTimeoutMs: 5000,
    maxConnectionStarts,
  });
}

const nodes = (port: number, count: number): NodeSpec[] =>
  Array.from({ length: count }, (_, i) => ({
    name: `node${i + 1}`,
    address: '127.0.0.1',
    port,
    user: 'deploy',
    roles: [],
    vars: {},
  }));

async function connectAll(t: SshTransport, list: NodeSpec[]): Promise<NodeSession[]> {
  const sessions = await Promise.all(list.map((n) => t.connect(n)));
  cleanup.push(() => Promise.all(sessions.map((s) => s.close())).then(() => undefined));
  return sessions;
}

describe('an abandoned login (the signal of connect)', () => {
  it('closes the socket of a login under way at once, and the connect fails; no login lands', async () => {
    const s = await server({ authDelayMs: 3000 });
    const t = transport([s.knownHostsLine()], 1);
    const [first, queued] = nodes(s.port, 2);
    const stop = new AbortController();
    const under = t.connect(first!, stop.signal);
    // The second waits for the only start slot: abandoned, it never starts.
    const waiting = t.connect(queued!, stop.signal);
    await new Promise((resolve) => setTimeout(resolve, 200));
    stop.abort();
    await expect(under).rejects.toThrow(/node1/);
    await expect(waiting).rejects.toThrow(/node2/);
    expect(s.stats.logins).toBe(0);
  });
});

describe('connection starts (ssh.maxConnectionStarts)', () => {
  it('never has more handshakes under way than the cap, and uses all of it', async () => {
    const s = await server({ maxStartups: 3, authDelayMs: 40 });
    const sessions = await connectAll(transport([s.knownHostsLine()], 3), nodes(s.port, 12));
    expect(sessions).toHaveLength(12);
    expect(s.stats).toMatchObject({ dropped: 0, logins: 12, peakStarting: 3 });
    // Every session works.
    const out = await sessions[11]!.exec(['echo', 'hi'], { timeoutMs: 10_000 });
    expect(out).toMatchObject({ code: 0, stdout: `ran: ${bounded(['echo', 'hi'], 10_000)}\n` });
  });

  it('opens at most 10 at once by default', async () => {
    const s = await server({ authDelayMs: 40 });
    await connectAll(transport([s.knownHostsLine()]), nodes(s.port, 25));
    expect(s.stats.logins).toBe(25);
    expect(s.stats.peakStarting).toBe(10);
  });

  it('retries a handshake the server dropped at start-up (MaxStartups), with back-off, until all are in', async () => {
    const s = await server({ maxStartups: 3, authDelayMs: 20 });
    // A cap above what the server allows: the server drops some, relink tries those again.
    const sessions = await connectAll(transport([s.knownHostsLine()], 12), nodes(s.port, 12));
    expect(sessions).toHaveLength(12);
    expect(s.stats.dropped).toBeGreaterThan(0);
    expect(s.stats.logins).toBe(12);
    expect(s.stats.connections).toBe(12 + s.stats.dropped);
  });

  it('does not retry a failed login or a refused host key', async () => {
    const s = await server();
    const stranger = { ...nodes(s.port, 1)[0]!, name: 'web1' };
    // The server only takes clientKey: log in with another one.
    const other = keyPair();
    const files = clientFiles(other, [s.knownHostsLine()]);
    cleanup.push(() => fs.rmSync(files.dir, { recursive: true, force: true }));
    const wrongIdentity = new SshTransport({
      identityFile: files.key,
      knownHostsFile: files.known,
      strictHostKeys: true,
      connectTimeoutMs: 5000,
    });
    await expect(wrongIdentity.connect(stranger)).rejects.toThrow(/web1 \(deploy@127\.0\.0\.1:\d+\): authentication/);
    expect(s.stats.connections).toBe(1);
    await expect(transport([]).connect(stranger)).rejects.toThrow(/web1 .*host key is not in .*known_hosts/);
    expect(s.stats.connections).toBe(2);
    const session = await transport([s.knownHostsLine()]).connect(stranger);
    cleanup.push(() => session.close());
    expect(session.node.name).toBe('web1');
    expect(s.stats.connections).toBe(3);
  });
});

describe('a connection reset after login', () => {
  it('is a lost connection the command reports, not a crash of the process', async () => {
    const s = await server();
    const [session] = await connectAll(transport([s.knownHostsLine()]), nodes(s.port, 1));
    s.resetAll();
    // Nothing is asking the connection anything when the reset arrives.
    await new Promise((resolve) => setTimeout(resolve, 200));
    const result = await session!.exec(['true'], { timeoutMs: 10_000 });
    expect(result.code).toBe(255);
    expect(result.stderr).toMatch(/connection|lost|No response/i);
  });
});

describe('what counts as a dropped start, and the back-off', () => {
  it('retries on a connection lost or reset before the handshake, nothing else', () => {
    expect(droppedAtStart(new Error('Connection lost before handshake'))).toBe(true);
    expect(droppedAtStart(Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' }))).toBe(true);
    expect(droppedAtStart(new Error('All configured authentication methods failed'))).toBe(false);
    expect(droppedAtStart(new Error('Host denied (verification failed)'))).toBe(false);
    expect(droppedAtStart(new Error('connect ECONNREFUSED 127.0.0.1:22'))).toBe(false);
    expect(droppedAtStart(new Error('Timed out while waiting for handshake'))).toBe(false);
  });

  it('waits between half and all of 250 ms x 2^attempt', () => {
    expect([0, 1, 2, 3].map((a) => backoffMs(a, 250, () => 0))).toEqual([125, 250, 500, 1000]);
    expect([0, 1, 2, 3].map((a) => backoffMs(a, 250, () => 1))).toEqual([250, 500, 1000, 2000]);
  });
});
