import type { Reporter, RunEvent } from './events.js';
import type { Redactor } from './redact.js';
import { LineReporter, MARK, ms, phaseOf } from './reporter.js';

/** The block at the bottom of a terminal that is redrawn in place (log-update's interface). */
export interface LiveRegion {
  (text: string): void;
  clear(): void;
  done(): void;
}

interface Running {
  readonly node?: string;
  readonly step: string;
  readonly started: number;
  bytes?: number;
  percent?: number;
}

/** How often the elapsed times of running steps are redrawn. */
export const TICK_MS = 250;

function size(bytes: number): string {
  return bytes >= 1e6 ? `${(bytes / 1e6).toFixed(1)} MB` : `${Math.round(bytes / 1e3)} kB`;
}

/**
 * On a terminal: every finished step, header and message goes into the
 * scrollback as the LineReporter prints it; below them, while any step
 * runs, a live block with one row per running step (its elapsed time
 * ticking, bytes and percent during an upload) and a progress line (phase,
 * nodes done of all, time since the run began). close() erases the block,
 * so what the command prints last (its summary) stays last on the screen.
 */
export class LiveReporter extends LineReporter {
  private readonly running = new Map<string, Running>();
  /** Each node's last finished step: its phase and whether it failed. */
  private readonly last = new Map<string, { phase: string; failed: boolean }>();
  /** Nodes in the order they first ran a step: rows keep their place as a node moves from step to step. */
  private readonly order = new Map<string, number>();
  private pending: string[] = [];
  private flushing: NodeJS.Immediate | undefined;
  private ticker: NodeJS.Timeout | undefined;
  private began = Date.now();
  private closed = false;

  constructor(
    private readonly tty: NodeJS.WritableStream,
    redactor: Redactor,
    private readonly region: LiveRegion,
  ) {
    super(tty, redactor);
  }

  override emit(event: RunEvent): void {
    if (this.closed) {
      super.emit(event);
      return;
    }
    if (event.type === 'progress') {
      // Drawn at the next tick: an upload reports far more often than a screen needs.
      const row = this.running.get(`${event.node} ${event.step}`);
      if (row) Object.assign(row, { bytes: event.bytes, percent: event.percent });
      return;
    }
    if (event.type === 'run') this.began = Date.now();
    if (event.type === 'step') this.track(event);
    for (const line of this.lines(event)) this.pending.push(this.redactor.apply(line));
    // Events come in bursts (every node starts a step at once): one redraw for all of them.
    this.flushing ??= setImmediate(() => this.flush());
  }

  private track(event: Extract<RunEvent, { type: 'step' }>): void {
    const key = `${event.node ?? '-'} ${event.step}`;
    if (event.status === 'start') {
      this.running.set(key, { node: event.node, step: event.step, started: Date.now() });
      if (event.node && !this.order.has(event.node)) this.order.set(event.node, this.order.size);
      return;
    }
    this.running.delete(key);
    if (event.node) this.last.set(event.node, { phase: phaseOf(event.step), failed: event.status === 'fail' });
  }

  private flush(): void {
    if (this.flushing) clearImmediate(this.flushing);
    this.flushing = undefined;
    if (this.pending.length) {
      // Written whole, never clipped to the terminal's height as the block is: the scrollback keeps every line.
      this.region.clear();
      this.tty.write(`${this.pending.join('\n')}\n`);
    }
    this.pending = [];
    this.draw();
    if (this.running.size > 0 && !this.ticker) {
      this.ticker = setInterval(() => this.draw(), TICK_MS);
      this.ticker.unref();
    } else if (this.running.size === 0) {
      this.stopTicking();
    }
  }

  private draw(): void {
    if (this.running.size === 0) {
      this.region.clear();
      return;
    }
    const now = Date.now();
    const place = (r: Running) => (r.node ? (this.order.get(r.node) ?? 0) : -1);
    const rows = [...this.running.values()]
      .sort((a, b) => place(a) - place(b))
      .map((r) => {
        const percent = r.percent === undefined ? '' : ` ${Math.floor(r.percent)}%`;
        const upload = r.bytes === undefined ? '' : `  ${size(r.bytes)}${percent}`;
        const took = ms(now - r.started).padStart(7);
        return `  ${(r.node ?? '-').padEnd(10)} ${r.step.padEnd(22)} ${MARK.start} ${took}${upload}`;
      });
    this.region(this.redactor.apply([...rows, this.progress(now)].join('\n')));
  }

  /**
   * `rollout: 1/4 nodes done, 12.3s`: the nodes that finished their steps of the current phase, of every node seen;
   * a phase without steps per node (the build) shows only the time since the run began.
   */
  private progress(now: number): string {
    const first = this.running.values().next().value as Running;
    const phase = this.phase ?? phaseOf(first.step);
    const busy = new Map([...this.running.values()].flatMap((r) => (r.node ? [[r.node, phaseOf(r.step)]] : [])));
    const nodes = new Set([...this.last.keys(), ...busy.keys()]);
    let done = 0;
    let failed = 0;
    let here = [...busy.values()].filter((p) => p === phase).length;
    for (const [node, last] of this.last) {
      if (last.failed) failed++;
      if (last.phase !== phase || busy.has(node)) continue;
      here++;
      if (!last.failed) done++;
    }
    const count = here ? ` ${done}/${nodes.size} nodes done${failed ? `, ${failed} failed` : ''},` : '';
    return `  ${phase}:${count} ${ms(now - this.began)}`;
  }

  private stopTicking(): void {
    if (this.ticker) clearInterval(this.ticker);
    this.ticker = undefined;
  }

  override close(): void {
    if (this.closed) return;
    this.stopTicking();
    this.running.clear();
    this.flush();
    this.region.done();
    this.closed = true;
  }
}

/**
 * The console's reporter: on a terminal (not in CI) the live view, whose
 * library is loaded only then; in a pipe or CI one line per finished step.
 */
export async function consoleReporter(
  redactor: Redactor,
  stream: NodeJS.WriteStream = process.stdout,
): Promise<Reporter> {
  if (!stream.isTTY || process.env.CI) return new LineReporter(stream, redactor);
  // Loaded here, not at the top: it costs ~90 ms and only a terminal draws live (CI and pipes print lines).
  const { createLogUpdate } = await import('log-update');
  // A pseudo-terminal nobody sized (script(1) in a pipe) has 0 columns and rows: draw as on 80x24, not nothing.
  const sized = {
    isTTY: true,
    write: (text: string) => stream.write(text),
    get columns() {
      return stream.columns || 80;
    },
    get rows() {
      return stream.rows || 24;
    },
  };
  return new LiveReporter(stream, redactor, createLogUpdate(sized as unknown as NodeJS.WritableStream));
}
