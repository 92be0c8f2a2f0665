import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { EXIT, type ExitCode, RelinkError, errorMessage } from '../errors.js';
import type { NodeSpec } from '../inventory/types.js';
import { hostLabel, parseKnownHosts, type HostKeyVerdict } from './known-hosts.js';
import { type JumpHop, parseProxyJump } from '../config/proxy-jump.js';
import { Jumps } from './jump.js';
import { login, LoginFailure, type LoginKeys } from './login.js';
import { ConnectionStarts, droppedAtStart } from './starts.js';
import { SshSession } from './ssh-session.js';
import type { NodeSession, Transport } from './types.js';

export interface SshOptions {
  readonly identityFile?: string;
  readonly knownHostsFile: string;
  readonly strictHostKeys: boolean;
  readonly connectTimeoutMs: number;
  /** Hops to every node without a proxyJump of its own; none: direct. */
  readonly proxyJump?: readonly JumpHop[];
  /** Handshakes under way at once. Default: 10. */
  readonly maxConnectionStarts?: number;
}

/** Only a handshake the server dropped before it began is tried again. */
const retryLogin = (error: unknown) => error instanceof LoginFailure && droppedAtStart(error.error);

/**
 * Error raised when a node cannot be reached; names the node and what to do. A host key that is not
 * trusted is bad input (exit 2): nothing was tried, and the next step is a decision about trust.
 */
export class ConnectError extends RelinkError {
  constructor(node: NodeSpec, message: string, hint: string, exitCode: ExitCode = EXIT.failed) {
    super(`${node.name} (${node.user}@${node.address}:${node.port}): ${message}`, { hint, exitCode });
    this.name = 'ConnectError';
  }
}

function defaultIdentity(): string | undefined {
  for (const name of ['id_ed25519', 'id_ecdsa', 'id_rsa']) {
    const file = path.join(os.homedir(), '.ssh', name);
    if (fs.existsSync(file)) return file;
  }
  return undefined;
}

/** SSH over node-ssh: one connection per node, verified against known_hosts. */
export class SshTransport implements Transport {
  private readonly knownHosts: ReturnType<typeof parseKnownHosts>;
  private readonly privateKey: string | undefined;
  private readonly starts: ConnectionStarts;
  private readonly jumps: Jumps;

  constructor(private readonly options: SshOptions) {
    this.knownHosts = fs.existsSync(options.knownHostsFile)
      ? parseKnownHosts(fs.readFileSync(options.knownHostsFile, 'utf8'))
      : [];
    const identity = options.identityFile ?? defaultIdentity();
    if (options.identityFile && !fs.existsSync(options.identityFile)) {
      throw new RelinkError(`SSH identity file not found: ${options.identityFile}`, {
        hint: 'fix ssh.identityFile in deploy.config.ts',
      });
    }
    this.privateKey = identity ? fs.readFileSync(identity, 'utf8') : undefined;
    this.starts = new ConnectionStarts(options.maxConnectionStarts ?? 10);
    this.jumps = new Jumps({
      login: (hop, sock) => this.starts.run(() => login(hop, this.keys(), sock), retryLogin),
      refuseKey: (hop, failure) => this.connectError(hop, failure.verdict, failure.error),
      connectTimeoutMs: options.connectTimeoutMs,
    });
  }

  private keys(): LoginKeys {
    const { strictHostKeys, connectTimeoutMs } = this.options;
    return { knownHosts: this.knownHosts, strictHostKeys, privateKey: this.privateKey, connectTimeoutMs };
  }

  async connect(node: NodeSpec, signal?: AbortSignal): Promise<NodeSession> {
    const hops = node.proxyJump === undefined ? (this.options.proxyJump ?? []) : parseProxyJump(node.proxyJump);
    // Through jump hosts: logged in to (or joined) first, outside this node's start slot.
    const passage = hops.length ? await this.jumps.enter(hops, node) : undefined;
    let ssh: import('node-ssh').NodeSSH;
    try {
      ssh = await this.starts.run(
        async () => login(node, this.keys(), await passage?.forward(node.address, node.port), signal),
        retryLogin,
      );
    } catch (error) {
      passage?.leave();
      if (error instanceof LoginFailure) throw this.connectError(node, error.verdict, error.error);
      throw error;
    }
    if (passage) ssh.connection?.once('close', passage.leave);
    return new SshSession(node, ssh, passage?.leave);
  }

  private connectError(node: NodeSpec, verdict: HostKeyVerdict, error: unknown): ConnectError {
    const label = hostLabel(node.address, node.port);
    const file = this.options.knownHostsFile;
    const scan = `ssh-keyscan ${node.port === 22 ? '' : `-p ${node.port} `}${node.address} >> ${file}`;
    if (verdict === 'unknown') {
      return new ConnectError(
        node,
        `host key is not in ${file}; refusing to connect to an unverified host`,
        `check the node's fingerprint, then add it deliberately: ${scan}`,
        EXIT.usage,
      );
    }
    if (verdict === 'changed') {
      const differs = `the key the node presented differs from the one in ${file}`;
      return new ConnectError(
        node,
        `HOST KEY CHANGED: ${differs}; refusing (this can be an attack)`,
        `if the node was rebuilt on purpose: ssh-keygen -R '${label}' -f ${file} && ${scan}`,
        EXIT.usage,
      );
    }
    if (verdict === 'revoked')
      return new ConnectError(
        node,
        'host key is marked @revoked in known_hosts; refusing',
        `replace the node's host key`,
        EXIT.usage,
      );
    const message = errorMessage(error);
    if (/authentication/i.test(message)) {
      return new ConnectError(
        node,
        `authentication failed: ${message}`,
        `check ssh.identityFile and that its public key is in ~${node.user}/.ssh/authorized_keys on the node`,
      );
    }
    if (/timed out/i.test(message)) {
      return new ConnectError(
        node,
        `cannot connect: ${message} (ssh.connectTimeoutMs is ${this.options.connectTimeoutMs} ms)`,
        `check the network to the node (ping, packet loss); if the link is just slow, raise ssh.connectTimeoutMs`,
      );
    }
    return new ConnectError(
      node,
      `cannot connect: ${message}`,
      `check that sshd runs on the node and that address and port in the inventory are right`,
    );
  }
}
