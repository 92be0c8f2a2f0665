import type { Command } from '../remote/tokens.js';
import type { NodeSpec } from '../inventory/types.js';

export interface ExecResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** When a remote command or transfer must end: every one has a deadline, and may be stopped early. */
export interface Deadline {
  /** Past this the command is ended on the node (its whole process group) and reported with exit code 124. */
  readonly timeoutMs: number;
  /** Aborted: the command is ended on the node at once, and the call settles with exit code 130. */
  readonly signal?: AbortSignal;
}

export interface ExecOptions extends Deadline {
  /** Sent on the command's stdin: file contents, never secrets on a command line. */
  readonly stdin?: string;
  /** Streams output as it arrives (`deploy logs -f`), decoded as UTF-8 (a character split between chunks whole). */
  readonly onStdout?: (chunk: string) => void;
  /** Streams the command's stderr as it arrives, decoded the same way (`deploy exec`). */
  readonly onStderr?: (chunk: string) => void;
  /** A pseudo-terminal, so the remote command gets SIGHUP when the connection closes. */
  readonly pty?: boolean;
}

/** A command running on a node with its streams open, for a protocol such as rsync's. */
export interface RemoteStream {
  readonly stdin: NodeJS.WritableStream;
  readonly stdout: NodeJS.ReadableStream;
  readonly stderr: NodeJS.ReadableStream;
  /** Resolves when the command has ended: its exit code, or null when the connection went away. */
  readonly done: Promise<number | null>;
  /** Ends the command on the node and closes the channel; `done` settles within a few seconds. */
  stop(): void;
}

export interface UploadOptions extends Deadline {
  /** Hears the bytes sent so far, of `total`. */
  readonly onProgress?: (bytes: number, total: number) => void;
  /** How much of the file is read at a time (default: 1 MiB); less when many uploads run at once. */
  readonly readBytes?: number;
}

/** One open connection to one node, reused for every command and upload of a run. */
export interface NodeSession {
  readonly node: NodeSpec;
  exec(command: Command, options: ExecOptions): Promise<ExecResult>;
  /** Starts a command on a channel of this connection and hands over its streams. */
  stream(command: Command, deadline: Deadline): Promise<RemoteStream>;
  /** Copies a file to the node; throws when it fails, times out or is stopped. */
  upload(localFile: string, remoteFile: string, options: UploadOptions): Promise<void>;
  close(): Promise<void>;
}

/** The only place remote work is executed. */
export interface Transport {
  /** `signal` abandons a login still under way (its socket closed); a session once open is the caller's. */
  connect(node: NodeSpec, signal?: AbortSignal): Promise<NodeSession>;
  /** Bytes this machine has sent to the nodes so far (commands, stdin, uploads, streams), where counted. */
  sentBytes?(): number;
}

export const TIMEOUT_EXIT = 124;
/** What a command stopped by the run's abort signal answers. */
export const INTERRUPTED_EXIT = 130;
