// Sending a file into an SSH channel without piling it up in this process. ssh2 encrypts and hands the socket
// every byte the SSH window allows (2 MiB with OpenSSH), whether the socket keeps up or not; a pipe reads ahead
// of that. With 100 uploads at once, that was 3-4 MiB held per upload (bench/scale.mjs: 405 MB at push@100).
import { once } from 'node:events';
import type { Writable } from 'node:stream';

/** The encrypted bytes an upload may leave in this process's socket buffer before it writes more. */
export const SOCKET_BACKLOG_BYTES = 256 * 1024;

/** What the pump reads of the socket under the channel: its buffered bytes, and when they drained. */
export interface Backlogged {
  readonly writableLength: number;
  /** Whether a 'drain' is due: some write found the buffer past its mark. */
  readonly writableNeedDrain: boolean;
  once(event: 'drain', listener: () => void): unknown;
  removeListener(event: 'drain', listener: () => void): unknown;
}

/** Waits for `event` on `emitter`, or for `end`, whichever is first; leaves no listener behind. */
async function until(emitter: Writable | Backlogged, event: 'drain', end: Promise<void>): Promise<void> {
  const controller = new AbortController();
  const heard = once(emitter as Writable, event, { signal: controller.signal });
  heard.catch(() => undefined);
  try {
    await Promise.race([heard, end]);
  } finally {
    controller.abort();
  }
}

/**
 * Writes `source` into `channel` a chunk at a time, then ends it. Before each next chunk it waits until the
 * channel sent the last (the SSH window) and the socket's own buffer is under SOCKET_BACKLOG_BYTES. Stops,
 * without ending the channel, once `stopped` settles (the command ended, timed out or was interrupted).
 */
export async function pump(
  source: AsyncIterable<Buffer>,
  channel: Writable,
  socket: Backlogged | undefined,
  stopped: Promise<unknown>,
  onChunk?: (bytes: number) => void,
): Promise<void> {
  let over = false;
  const end = stopped.then(
    () => {
      over = true;
    },
    () => {
      over = true;
    },
  );
  for await (const chunk of source) {
    if (over) return;
    onChunk?.(chunk.length);
    // The write's callback comes once the SSH window took all of it: one piece in the channel at a time (its own
    // mark is 2 MiB, which `write()`'s answer alone would let pile up behind a closed window).
    const written = new Promise<void>((resolve, reject) => {
      channel.write(chunk, (error) => (error ? reject(error) : resolve()));
    });
    written.catch(() => undefined);
    await Promise.race([written, end]);
    // A 'drain' comes only when one is due (a write found the buffer past its mark): a jump host's channel, the
    // "socket" of a connection through it, holds 2 MiB before it owes one.
    while (!over && socket && socket.writableLength > SOCKET_BACKLOG_BYTES && socket.writableNeedDrain)
      await until(socket, 'drain', end);
    if (over) return;
  }
  channel.end();
}
