import fs from 'node:fs';
import type { NodeSpec } from '../inventory/types.js';
import { render, type Command } from '../remote/tokens.js';
import type { Deadline, ExecOptions, NodeSession, RemoteStream, Transport } from './types.js';

const size = (chunk: unknown): number =>
  typeof chunk === 'string' ? Buffer.byteLength(chunk) : chunk instanceof Uint8Array ? chunk.byteLength : 0;

/** A stream's stdin that counts what is written into it and is the stream itself in every other respect. */
function counted(stdin: NodeJS.WritableStream, add: (bytes: number) => void): NodeJS.WritableStream {
  return new Proxy(stdin, {
    get(target, prop) {
      if (prop === 'write')
        return (chunk: unknown, ...rest: unknown[]) => {
          add(size(chunk));
          return (target.write as (...args: unknown[]) => boolean)(chunk, ...rest);
        };
      const value: unknown = Reflect.get(target, prop, target);
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  });
}

/**
 * Counts what this machine sends to the nodes through another transport:
 * every command line and its stdin, every uploaded file and every byte
 * written into a stream (rsync). That is the payload; SSH's framing adds a
 * few percent on the wire. Fan-out modes are compared by it.
 */
export class MeteredTransport implements Transport {
  private sent = 0;

  constructor(private readonly inner: Transport) {}

  sentBytes(): number {
    return this.sent;
  }

  async connect(node: NodeSpec, signal?: AbortSignal): Promise<NodeSession> {
    const session = await this.inner.connect(node, signal);
    const add = (bytes: number) => {
      this.sent += bytes;
    };
    // Everything else (node, close, what a transport adds) is the session's own.
    const metered: NodeSession = Object.create(session);
    return Object.assign(metered, {
      exec(command: Command, options: ExecOptions) {
        add(Buffer.byteLength(render(command)) + Buffer.byteLength(options.stdin ?? ''));
        return session.exec(command, options);
      },
      async stream(command: Command, deadline: Deadline): Promise<RemoteStream> {
        add(Buffer.byteLength(render(command)));
        const stream = await session.stream(command, deadline);
        return { ...stream, stdin: counted(stream.stdin, add) };
      },
      async upload(localFile: string, remoteFile: string, ...rest: unknown[]) {
        await (session.upload as (...args: unknown[]) => Promise<void>)(localFile, remoteFile, ...rest);
        add(fs.statSync(localFile, { throwIfNoEntry: false })?.size ?? 0);
      },
    });
  }
}
