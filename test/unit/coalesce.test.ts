import { describe, expect, it } from 'vitest';
import { coalesceWrites, socketOf } from '../../src/transport/coalesce.js';

/** A socket that logs what happens to it: corks, uncorks, and the writes that reach it while corked or not. */
function loggingSocket() {
  const log: string[] = [];
  let corked = 0;
  return {
    log,
    cork: () => {
      corked++;
      log.push('cork');
    },
    uncork: () => {
      corked--;
      log.push('uncork');
    },
    depth: () => corked,
    // What pump.ts reads of a socket: its backlog and its drain.
    writableLength: 0,
    once: () => undefined,
    removeListener: () => undefined,
  };
}

describe('coalesced writes on an SSH channel', () => {
  it('corks the socket for each write and uncorks it in the next tick, writes passed through in order', async () => {
    const sock = loggingSocket();
    const written: string[] = [];
    const channel = {
      write: (chunk: string) => {
        written.push(chunk);
        sock.log.push(`write ${chunk} at depth ${sock.depth()}`);
        return chunk !== 'full';
      },
    };
    coalesceWrites(channel, sock);
    expect(channel.write('a')).toBe(true);
    expect(channel.write('full')).toBe(false);
    expect(sock.depth()).toBe(2);
    await new Promise((resolve) => process.nextTick(resolve));
    expect(sock.depth()).toBe(0);
    expect(written).toEqual(['a', 'full']);
    expect(sock.log).toEqual(['cork', 'write a at depth 1', 'cork', 'write full at depth 2', 'uncork', 'uncork']);
  });

  it('uncorks even when the write throws', async () => {
    const sock = loggingSocket();
    const channel = {
      write: (): boolean => {
        throw new Error('write after end');
      },
    };
    coalesceWrites(channel, sock);
    expect(() => channel.write()).toThrow('write after end');
    await new Promise((resolve) => process.nextTick(resolve));
    expect(sock.depth()).toBe(0);
  });

  it('leaves a channel without a socket as it is, and finds no socket on a closed connection', () => {
    const write = () => true;
    const channel = { write };
    expect(coalesceWrites(channel, undefined).write).toBe(write);
    expect(socketOf(undefined)).toBeUndefined();
    expect(socketOf({})).toBeUndefined();
    expect(socketOf({ _sock: { cork: 1 } })).toBeUndefined();
    const sock = loggingSocket();
    expect(socketOf({ _sock: sock })).toBe(sock);
  });
});
