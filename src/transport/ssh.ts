import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { RelinkError, errorMessage } from '../errors.js';
import type { NodeSpec } from '../inventory/types.js';
import { render, type Command } from '../remote/tokens.js';
import { hostLabel, parseKnownHosts, verifyHostKey, type HostKeyVerdict } from './known-hosts.js';
import { requireCjs } from '../cjs.js';
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
}

/** Error raised when a node cannot be reached; names the node and what to do. */
export class ConnectError extends RelinkError {
  constructor(node: NodeSpec, message: string, hint: string) {
    super(`${node.name} (${node.user}@${node.address}:${node.port}): ${message}`, { hint });
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
  }

  async connect(node: NodeSpec): Promise<NodeSession> {
    const { NodeSSH } = requireCjs('node-ssh') as typeof import('node-ssh');
    const ssh = new NodeSSH();
    let verdict: HostKeyVerdict = 'known';
    const strict = this.options.strictHostKeys;
    try {
      await ssh.connect({
        host: node.address,
        port: node.port,
        username: node.user,
        privateKey: this.privateKey,
        agent: process.env.SSH_AUTH_SOCK,
        readyTimeout: this.options.connectTimeoutMs,
        keepaliveInterval: 10_000,
        hostVerifier: (key: Buffer) => {
          verdict = verifyHostKey(this.knownHosts, node.address, node.port, key);
          return !strict || verdict === 'known';
        },
      });
    } catch (error) {
      ssh.dispose();
      throw this.connectError(node, verdict, error);
    }
    // Every step is a small request and a small answer: without TCP_NODELAY,
    // Nagle's algorithm and delayed ACKs add ~40 ms to many of them.
    ssh.connection?.setNoDelay(true);
    return new SshSession(node, ssh);
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
      );
    }
    if (verdict === 'changed') {
      const differs = `the key the node presented differs from the one in ${file}`;
      return new ConnectError(
        node,
        `HOST KEY CHANGED: ${differs}; refusing (this can be an attack)`,
        `if the node was rebuilt on purpose: ssh-keygen -R '${label}' -f ${file} && ${scan}`,
      );
    }
    if (verdict === 'revoked')
      return new ConnectError(
        node,
        'host key is marked @revoked in known_hosts; refusing',
        `replace the node's host key`,
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

  async upload(localFile: string, remoteFile: string): Promise<void> {
    await this.ssh.putFile(localFile, remoteFile);
  }

  async close(): Promise<void> {
    this.ssh.dispose();
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
