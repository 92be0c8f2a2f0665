import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { EXIT, type ExitCode, RelinkError, errorMessage } from '../errors.js';
import type { NodeSpec } from '../inventory/types.js';
import { render, type Command } from '../remote/tokens.js';
import { hostLabel, parseKnownHosts, type HostKeyVerdict } from './known-hosts.js';
import { type JumpHop, parseProxyJump } from '../config/proxy-jump.js';
import { Jumps } from './jump.js';
import { login, LoginFailure, type LoginKeys } from './login.js';
import { ConnectionStarts, droppedAtStart } from './starts.js';
import {
  TIMEOUT_EXIT,
  type ExecOptions,
  type ExecResult,
  type NodeSession,
  type RemoteStream,
  type Transport,
} from './types.js';

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

class SshSession implements NodeSession {
  constructor(
    readonly node: NodeSpec,
    private readonly ssh: import('node-ssh').NodeSSH,
    /** Lets go of the jump hosts the connection rides on, if any. */
    private readonly closed?: () => void,
  ) {}

  async exec(command: Command, options: ExecOptions = {}): Promise<ExecResult> {
    let channel: { close(): void } | undefined;
    let timer: NodeJS.Timeout | undefined;
    const run = this.ssh.execCommand(render(command), {
      stdin: options.stdin,
      noTrim: true,
      execOptions: options.pty ? { pty: true } : undefined,
      onStdout: options.onStdout ? (chunk: Buffer) => options.onStdout!(chunk.toString('utf8')) : undefined,
      onChannel: (c) => {
        channel = c;
      },
    });
    const timeout = options.timeoutMs
      ? new Promise<ExecResult>((resolve) => {
          timer = setTimeout(() => {
            channel?.close();
            resolve({ code: TIMEOUT_EXIT, stdout: '', stderr: `timed out after ${options.timeoutMs} ms` });
          }, options.timeoutMs);
        })
      : undefined;
    try {
      const result = await (timeout ? Promise.race([run.then(normalize), timeout]) : run.then(normalize));
      return result;
    } catch (error) {
      return { code: 255, stdout: '', stderr: `connection lost: ${errorMessage(error)}` };
    } finally {
      if (timer) clearTimeout(timer);
    }
  }

  stream(command: Command): Promise<RemoteStream> {
    const client = this.ssh.connection;
    if (!client) return Promise.reject(new Error('the connection to the node was lost'));
    return new Promise((resolve, reject) => {
      client.exec(render(command), (error, channel) => {
        if (error) return reject(error);
        const done = new Promise<number | null>((settle) => {
          let code: number | null = null;
          channel.on('exit', (exitCode: number | null, signal?: string) => {
            code = exitCode ?? (signal ? 128 : null);
          });
          channel.on('close', () => settle(code));
        });
        resolve({ stdin: channel, stdout: channel, stderr: channel.stderr, done });
      });
    });
  }

  async upload(
    localFile: string,
    remoteFile: string,
    onProgress?: (bytes: number, total: number) => void,
  ): Promise<void> {
    await this.ssh.putFile(
      localFile,
      remoteFile,
      null,
      onProgress ? { step: (sent, _, total) => onProgress(sent, total) } : null,
    );
  }

  async close(): Promise<void> {
    this.ssh.dispose();
    this.closed?.();
  }
}

function normalize(r: { code: number | null; signal: string | null; stdout: string; stderr: string }): ExecResult {
  // No exit status and no signal: the channel closed under the command (the node or its sshd went away).
  if (r.code === null && !r.signal)
    return {
      code: 255,
      stdout: r.stdout,
      stderr: `${r.stderr}${r.stderr ? '\n' : ''}the connection to the node was lost before the command finished`,
    };
  return { code: r.code ?? 128, stdout: r.stdout, stderr: r.stderr };
}
