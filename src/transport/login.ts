import type { Duplex } from 'node:stream';
import { type HostKeyVerdict, type parseKnownHosts, verifyHostKey } from './known-hosts.js';

/** Where one SSH login goes: a node, or a jump host on the way to one. */
export interface LoginTarget {
  readonly address: string;
  readonly port: number;
  readonly user: string;
}

/** What every login of a run uses: the same key, the same known_hosts, the same rules. */
export interface LoginKeys {
  readonly knownHosts: ReturnType<typeof parseKnownHosts>;
  readonly strictHostKeys: boolean;
  readonly privateKey: string | undefined;
  readonly connectTimeoutMs: number;
}

/** A login that did not get through, with what the host key check said (for the message). */
export class LoginFailure extends Error {
  constructor(
    readonly verdict: HostKeyVerdict,
    readonly error: unknown,
  ) {
    super(error instanceof Error ? error.message : String(error));
    this.name = 'LoginFailure';
  }
}

/**
 * One SSH handshake and login, over TCP or over `sock` (a channel forwarded
 * by a jump host). The host key is checked against known_hosts under the
 * target's own address and port, as ssh does behind ProxyJump.
 */
export async function login(
  target: LoginTarget,
  keys: LoginKeys,
  sock?: Duplex,
  signal?: AbortSignal,
): Promise<import('node-ssh').NodeSSH> {
  const { NodeSSH } = await import('node-ssh');
  if (signal?.aborted) throw new LoginFailure('known', new Error('the login was abandoned before it began'));
  const ssh = new NodeSSH();
  let verdict: HostKeyVerdict = 'known';
  // Abandoned: the socket is closed at once, and the login fails with the close.
  const abandon = () => {
    ssh.connection?.destroy();
    sock?.destroy();
  };
  signal?.addEventListener('abort', abandon, { once: true });
  try {
    await ssh.connect({
      ...(sock ? { sock } : { host: target.address, port: target.port }),
      username: target.user,
      privateKey: keys.privateKey,
      agent: process.env.SSH_AUTH_SOCK,
      readyTimeout: keys.connectTimeoutMs,
      keepaliveInterval: 10_000,
      hostVerifier: (key: Buffer) => {
        verdict = verifyHostKey(keys.knownHosts, target.address, target.port, key);
        return !keys.strictHostKeys || verdict === 'known';
      },
    });
  } catch (error) {
    ssh.dispose();
    sock?.destroy();
    throw new LoginFailure(verdict, error);
  } finally {
    signal?.removeEventListener('abort', abandon);
  }
  // After login a socket error (a reset) would be an 'error' event nobody
  // listens to, which ends the process; the loss shows as the connection
  // closing instead: a command answers "connection lost", the node is named.
  ssh.connection?.on('error', () => undefined);
  // Every step is a small request and a small answer: without TCP_NODELAY,
  // Nagle's algorithm and delayed ACKs add ~40 ms to many of them.
  ssh.connection?.setNoDelay(true);
  return ssh;
}
