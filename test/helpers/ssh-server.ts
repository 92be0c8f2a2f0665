// A small in-process SSH server (ssh2's Server) for transport tests: it logs
// in one client key, runs `exec` requests by echoing them, forwards
// direct-tcpip channels like a jump host, and can drop handshakes past a
// limit the way sshd's MaxStartups does.
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Server, utils } from 'ssh2';

export interface KeyPair {
  readonly private: string;
  readonly public: string;
}

/** An ed25519 key pair in OpenSSH format (ssh2 now and then makes one it cannot parse back: made again). */
export function keyPair(): KeyPair {
  for (;;) {
    const pair = utils.generateKeyPairSync('ed25519');
    if (!(utils.parseKey(pair.private) instanceof Error)) return pair;
  }
}

export interface ServerStats {
  /** TCP connections the server took in (dropped ones included). */
  connections: number;
  /** Dropped before the handshake because `maxStartups` were already under way. */
  dropped: number;
  /** Handshakes under way now, and the most at any moment. */
  starting: number;
  peakStarting: number;
  logins: number;
  /** Logged-in connections open now. */
  open: number;
  /** direct-tcpip channels opened (the server as a jump host). */
  forwards: number;
}

export interface TestSshServer {
  readonly port: number;
  readonly hostKey: KeyPair;
  readonly stats: ServerStats;
  /** The known_hosts line for this server at 127.0.0.1. */
  knownHostsLine(): string;
  /** Resets every open connection (TCP RST), as a host that drops off the network might. */
  resetAll(): void;
  close(): Promise<void>;
}

export interface ServerOptions {
  /** The only key that may log in. */
  readonly clientKey: KeyPair;
  /** Handshakes allowed at once; past it a new connection gets "Exceeded MaxStartups" and is closed. */
  readonly maxStartups?: number;
  /** Holds every login this long, so handshakes overlap. */
  readonly authDelayMs?: number;
}

export async function startSshServer(options: ServerOptions): Promise<TestSshServer> {
  const hostKey = keyPair();
  const allowed = (utils.parseKey(options.clientKey.public) as { getPublicSSH(): Buffer }).getPublicSSH();
  const stats: ServerStats = {
    connections: 0,
    dropped: 0,
    starting: 0,
    peakStarting: 0,
    logins: 0,
    open: 0,
    forwards: 0,
  };
  const sockets = new Set<net.Socket>();
  // A handshake ends at login; the server side knows its client by the client's port.
  const loggedIn = new Map<number, () => void>();
  const ssh = new Server({ hostKeys: [hostKey.private] }, (client, info) => {
    client.on('error', () => undefined);
    client.once('ready', () => loggedIn.get(info.port)?.());
    client.on('authentication', (ctx) => {
      const ok = ctx.method === 'publickey' && ctx.key.data.equals(allowed);
      setTimeout(() => (ok ? ctx.accept() : ctx.reject(['publickey'])), options.authDelayMs ?? 0);
    });
    client.on('ready', () => {
      stats.logins++;
      stats.open++;
      client.on('close', () => stats.open--);
      client.on('session', (accept) => {
        accept().on('exec', (acceptExec, _reject, info) => {
          const channel = acceptExec();
          channel.write(`ran: ${info.command}\n`);
          channel.exit(0);
          channel.end();
        });
      });
      client.on('tcpip', (accept, reject, info) => {
        stats.forwards++;
        const out = net.connect(info.destPort, info.destIP);
        out.once('error', () => reject());
        out.once('connect', () => {
          const channel = accept();
          channel.pipe(out).pipe(channel);
          out.on('close', () => channel.close());
          channel.on('close', () => out.destroy());
        });
      });
    });
  });
  const tcp = net.createServer((socket) => {
    stats.connections++;
    sockets.add(socket);
    socket.on('error', () => undefined);
    socket.on('close', () => sockets.delete(socket));
    if (options.maxStartups !== undefined && stats.starting >= options.maxStartups) {
      stats.dropped++;
      socket.end('Exceeded MaxStartups\r\n');
      return;
    }
    stats.starting++;
    stats.peakStarting = Math.max(stats.peakStarting, stats.starting);
    let started = true;
    const done = () => {
      if (started) stats.starting--;
      started = false;
    };
    socket.on('close', done);
    const remote = socket.remotePort!;
    loggedIn.set(remote, done);
    socket.on('close', () => loggedIn.delete(remote));
    ssh.injectSocket(socket);
  });
  await new Promise<void>((resolve) => tcp.listen(0, '127.0.0.1', resolve));
  const port = (tcp.address() as net.AddressInfo).port;
  return {
    port,
    hostKey,
    stats,
    resetAll: () => {
      for (const socket of sockets) socket.resetAndDestroy();
    },
    knownHostsLine: () => `[127.0.0.1]:${port} ${hostKey.public.split(' ').slice(0, 2).join(' ')}`,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        tcp.close(() => resolve());
      }),
  };
}

/** A temp dir with the client key file and a known_hosts of the given lines. */
export function clientFiles(clientKey: KeyPair, knownHosts: string[]): { dir: string; key: string; known: string } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'relink-ssh-'));
  const key = path.join(dir, 'id_ed25519');
  fs.writeFileSync(key, clientKey.private, { mode: 0o600 });
  const known = path.join(dir, 'known_hosts');
  fs.writeFileSync(known, `${knownHosts.join('\n')}\n`);
  return { dir, key, known };
}
