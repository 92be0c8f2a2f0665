import { EventEmitter } from 'node:events';
import { PassThrough, Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { pump, SOCKET_BACKLOG_BYTES } from '../../src/transport/pump.js';

/** A socket whose buffered bytes the test sets, and drains. */
class Socket extends EventEmitter {
  writableLength = 0;
  /** As a net.Socket (mark 16 KiB): past the backlog, a drain is due. */
  get writableNeedDrain() {
    return this.writableLength > 16 * 1024;
  }
  drain() {
    this.writableLength = 0;
    this.emit('drain');
  }
}

async function* chunks(n: number, size: number, read: number[]) {
  for (let i = 0; i < n; i++) {
    read.push(i);
    yield Buffer.alloc(size, i);
  }
}

const tick = () => new Promise((r) => setTimeout(r, 5));

describe('pump: a file into an SSH channel, never more than the socket backlog ahead', () => {
  it('sends every chunk in order and ends the channel', async () => {
    const channel = new PassThrough();
    const got: Buffer[] = [];
    channel.on('data', (c: Buffer) => got.push(c));
    let sent = 0;
    await pump(chunks(4, 1000, []), channel, new Socket(), new Promise(() => undefined), (b) => (sent += b));
    expect(Buffer.concat(got)).toEqual(Buffer.concat([0, 1, 2, 3].map((i) => Buffer.alloc(1000, i))));
    expect(sent).toBe(4000);
    expect(channel.writableEnded).toBe(true);
  });

  it('reads the next chunk only once the socket drained under the backlog', async () => {
    const channel = new PassThrough();
    channel.resume();
    const socket = new Socket();
    const read: number[] = [];
    // Every write leaves the socket over the backlog (as ssh2 does when the window is open and the link slow).
    channel.on('data', () => {
      socket.writableLength = SOCKET_BACKLOG_BYTES + 1;
    });
    const done = pump(chunks(3, 100, read), channel, socket, new Promise(() => undefined));
    await tick();
    expect(read).toEqual([0]);
    socket.drain();
    await tick();
    expect(read).toEqual([0, 1]);
    socket.drain();
    await tick();
    socket.drain();
    await done;
    expect(read).toEqual([0, 1, 2]);
    expect(socket.listenerCount('drain')).toBe(0);
  });

  it('stops when the command ended early: the channel is not ended, no listener is left', async () => {
    const channel = new PassThrough();
    channel.resume();
    const socket = new Socket();
    channel.on('data', () => {
      socket.writableLength = SOCKET_BACKLOG_BYTES + 1;
    });
    let stop!: () => void;
    const stopped = new Promise<void>((r) => {
      stop = r;
    });
    const read: number[] = [];
    const done = pump(chunks(5, 100, read), channel, socket, stopped);
    await tick();
    stop();
    await done;
    expect(read).toEqual([0]);
    expect(channel.writableEnded).toBe(false);
    expect(socket.listenerCount('drain')).toBe(0);
  });

  it("a jump host's channel as the socket (mark 2 MiB, slow): 1 MiB pieces never wait for a drain not due", async () => {
    // What the channel to the jump host does with what it is given: sends it as its own window allows.
    let received = 0;
    const socket = new Writable({
      highWaterMark: 2 << 20,
      write(chunk: Buffer, _encoding, done) {
        setTimeout(() => {
          received += chunk.length;
          done();
        }, 20);
      },
    });
    const channel = new Writable({
      write(chunk: Buffer, _encoding, done) {
        socket.write(chunk);
        done();
      },
    });
    await pump(chunks(4, 1 << 20, []), channel, socket, new Promise(() => undefined));
    await new Promise((r) => socket.end(r));
    expect(received).toBe(4 << 20);
  });

  it('one piece in the channel at a time: the next is read only once the last was sent (the SSH window)', async () => {
    const sent: (() => void)[] = [];
    const channel = new Writable({
      highWaterMark: 2 << 20,
      write(_chunk, _encoding, done) {
        sent.push(done);
      },
    });
    const read: number[] = [];
    const done = pump(chunks(3, 1000, read), channel, undefined, new Promise(() => undefined));
    await tick();
    expect(read).toEqual([0]);
    sent.shift()!();
    await tick();
    expect(read).toEqual([0, 1]);
    sent.shift()!();
    await tick();
    sent.shift()!();
    await done;
    expect(read).toEqual([0, 1, 2]);
  });
});
