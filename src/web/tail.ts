// One reader of a run's log for all who follow the run: while anyone follows, it looks at the file every
// 150 ms, reads only what was added (at most 1 MB at a time), and keeps the lines for every follower, so
// a hundred viewers of one run cost one poll, not a hundred.
import fs from 'node:fs';
import { StringDecoder } from 'node:string_decoder';
import { processRedactor } from '../log/redact.js';
import type { RunEnd, RunLine } from './types.js';

const POLL_MS = 150;
const READ_MAX = 1024 * 1024;

export class RunTail {
  private readonly lines: RunLine[] = [];
  private end: RunEnd | undefined;
  private offset = 0;
  private rest = '';
  private readonly decoder = new StringDecoder('utf8');
  private followers = 0;
  private timer: NodeJS.Timeout | undefined;
  private readonly waiting = new Set<() => void>();

  constructor(
    private readonly file: string,
    /** How the run ended, or undefined while it goes on. */
    private readonly ended: () => { result: string; error?: string } | undefined,
    /** The last follower left. */
    private readonly idle: () => void,
    private readonly parse: (text: string) => RunLine | undefined,
  ) {}

  /** Every line so far, then each new one, then the end; stops early when `signal` aborts. */
  async *follow(signal: AbortSignal): AsyncGenerator<RunLine | RunEnd> {
    this.followers++;
    if (!this.timer && !this.end) this.tick();
    try {
      let i = 0;
      while (!signal.aborted) {
        while (i < this.lines.length && !signal.aborted) yield this.lines[i++]!;
        if (signal.aborted) return;
        if (this.end) {
          yield this.end;
          return;
        }
        await this.changed(signal);
      }
    } finally {
      this.followers--;
      if (this.followers === 0) {
        clearTimeout(this.timer);
        this.timer = undefined;
        this.idle();
      }
    }
  }

  private changed(signal: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        this.waiting.delete(done);
        signal.removeEventListener('abort', done);
        resolve();
      };
      this.waiting.add(done);
      signal.addEventListener('abort', done, { once: true });
    });
  }

  private readonly tick = (): void => {
    this.timer = undefined;
    // Asked before reading: a run that had ended has written its last line by now.
    const ended = this.ended();
    const before = this.lines.length;
    const whole = this.read();
    if (ended && whole) this.end = { end: true, ...ended };
    if (this.lines.length > before || this.end) for (const wake of [...this.waiting]) wake();
    if (!this.end && this.followers > 0) this.timer = setTimeout(this.tick, POLL_MS);
  };

  /** Reads what was added since the last read; true when nothing more is there. */
  private read(): boolean {
    let size: number;
    try {
      size = fs.statSync(this.file).size;
    } catch {
      return true;
    }
    if (size <= this.offset) return true;
    const length = Math.min(size - this.offset, READ_MAX);
    const buffer = Buffer.alloc(length);
    const fd = fs.openSync(this.file, 'r');
    try {
      fs.readSync(fd, buffer, 0, length, this.offset);
    } finally {
      fs.closeSync(fd);
    }
    this.offset += length;
    const parts = (this.rest + this.decoder.write(buffer)).split('\n');
    this.rest = parts.pop() ?? '';
    for (const part of parts) {
      const line = part.trim() ? this.parse(processRedactor.apply(part)) : undefined;
      if (line) this.lines.push(line);
    }
    return this.offset >= size;
  }
}
