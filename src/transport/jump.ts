import type { Duplex } from 'node:stream';
import type { NodeSSH } from 'node-ssh';
import { type JumpHop, hopText } from '../config/proxy-jump.js';
import { RelinkError, errorMessage } from '../errors.js';
import type { NodeSpec } from '../inventory/types.js';
import { LoginFailure } from './login.js';

export interface JumpDeps {
  /** Logs in to a hop over `sock` (through the hop before it) or over TCP; throws LoginFailure. */
  login(hop: JumpHop, sock: Duplex | undefined): Promise<NodeSSH>;
  /** The error for a hop whose host key was refused, as a node's would be (same text, same exit code). */
  refuseKey(hop: NodeSpec, failure: LoginFailure): RelinkError;
  readonly connectTimeoutMs: number;
}

/** A node's way through its jump hosts. */
export interface Passage {
  /** A channel from the last hop to `address:port`, for the node's own SSH connection. */
  forward(address: string, port: number): Promise<Duplex>;
  /** The node is done with the jump hosts (idempotent); the last node out closes them. */
  leave(): void;
}

interface Entry {
  readonly key: string;
  readonly hop: JumpHop;
  /** `jump host` for the first hop, `jump host 2` for the second, ... */
  readonly where: string;
  readonly parent: Entry | undefined;
  refs: number;
  ssh: Promise<NodeSSH>;
}

/**
 * The run's connections to jump hosts: one per chain of hops, shared by every
 * node behind it (the second hop rides a channel of the first), closed when
 * the last node behind it closes its session.
 */
export class Jumps {
  private readonly open = new Map<string, Entry>();

  constructor(private readonly deps: JumpDeps) {}

  /** Logs in through every hop (or joins the connection already there); throws naming the node and the hop. */
  async enter(hops: readonly JumpHop[], node: NodeSpec): Promise<Passage> {
    const entry = this.acquire(hops);
    let left = false;
    const leave = () => {
      if (left) return;
      left = true;
      this.release(entry);
    };
    let ssh: NodeSSH;
    try {
      ssh = await entry.ssh;
    } catch (error) {
      leave();
      const hopError = error as RelinkError;
      throw new RelinkError(`${node.name} (${node.user}@${node.address}:${node.port}): ${errorMessage(error)}`, {
        hint: hopError.hint,
        exitCode: hopError.exitCode,
        cause: error,
      });
    }
    const forward = (address: string, port: number) =>
      forwardOut(ssh, entry, address, port).catch((error: unknown) => {
        throw new RelinkError(`${node.name} (${node.user}@${node.address}:${node.port}): ${errorMessage(error)}`, {
          hint: (error as RelinkError).hint,
          cause: error,
        });
      });
    return { forward, leave };
  }

  private acquire(hops: readonly JumpHop[]): Entry {
    const key = hops.map(hopText).join(',');
    let entry = this.open.get(key);
    if (!entry) {
      const parent = hops.length > 1 ? this.acquire(hops.slice(0, -1)) : undefined;
      const hop = hops[hops.length - 1]!;
      const where = hops.length === 1 ? 'jump host' : `jump host ${hops.length}`;
      const created: Entry = { key, hop, where, parent, refs: 0, ssh: Promise.resolve(undefined as never) };
      created.ssh = this.connectHop(created);
      // Waiters see the failure; this keeps it from counting as unhandled when none is left.
      created.ssh.catch(() => undefined);
      this.open.set(key, created);
      entry = created;
    }
    entry.refs++;
    return entry;
  }

  private async connectHop(entry: Entry): Promise<NodeSSH> {
    const { hop, where } = entry;
    try {
      const sock = entry.parent
        ? await forwardOut(await entry.parent.ssh, entry.parent, hop.address, hop.port)
        : undefined;
      const ssh = await this.deps.login(hop, sock);
      // A jump connection that dies is not handed to the next node that asks.
      ssh.connection?.once('close', () => this.forget(entry));
      return ssh;
    } catch (error) {
      this.forget(entry);
      if (!(error instanceof LoginFailure)) throw error;
      const spec: NodeSpec = { name: where, address: hop.address, port: hop.port, user: hop.user, roles: [], vars: {} };
      if (error.verdict !== 'known') throw this.deps.refuseKey(spec, error);
      throw hopLoginError(where, hop, error.error, this.deps.connectTimeoutMs);
    }
  }

  private forget(entry: Entry): void {
    if (this.open.get(entry.key) === entry) this.open.delete(entry.key);
  }

  private release(entry: Entry): void {
    entry.refs--;
    if (entry.refs > 0) return;
    this.forget(entry);
    void entry.ssh.then(
      (ssh) => ssh.dispose(),
      () => undefined,
    );
    if (entry.parent) this.release(entry.parent);
  }
}

/** A direct-tcpip channel from a hop to the next hop or the node. */
function forwardOut(ssh: NodeSSH, from: Entry, address: string, port: number): Promise<Duplex> {
  const client = ssh.connection;
  const fail = (message: string) =>
    new RelinkError(`${from.where} (${hopText(from.hop)}) cannot open a connection to ${address}:${port}: ${message}`, {
      hint:
        `check that ${from.hop.address} reaches ${address}:${port} (address and port right, no firewall between) ` +
        'and that its sshd allows TCP forwarding (AllowTcpForwarding)',
    });
  if (!client) return Promise.reject(fail('the connection to the jump host was lost'));
  return new Promise((resolve, reject) => {
    client.forwardOut('127.0.0.1', 0, address, port, (error, channel) =>
      error ? reject(fail(error.message)) : resolve(channel),
    );
  });
}

function hopLoginError(where: string, hop: JumpHop, error: unknown, timeoutMs: number): RelinkError {
  const head = `${where} (${hopText(hop)})`;
  const message = errorMessage(error);
  if (/authentication/i.test(message)) {
    return new RelinkError(`${head}: authentication failed: ${message}`, {
      hint: `check ssh.identityFile and that its public key is in ~${hop.user}/.ssh/authorized_keys on ${hop.address}`,
    });
  }
  if (/timed out/i.test(message)) {
    return new RelinkError(`${head}: cannot connect: ${message} (ssh.connectTimeoutMs is ${timeoutMs} ms)`, {
      hint: 'check the network to the jump host; if the link is just slow, raise ssh.connectTimeoutMs',
    });
  }
  return new RelinkError(`${head}: cannot connect: ${message}`, {
    hint:
      'check that sshd runs on the jump host and that the hop is right in ssh.proxyJump (deploy.config.ts) ' +
      "or the host's proxyJump (hosts/<env>.yaml)",
  });
}
