import type { Redactor } from './redact.js';
import type { Reporter, RunEvent } from './events.js';

function ms(value: number | undefined): string {
  if (value === undefined) return '';
  return value >= 1000 ? `${(value / 1000).toFixed(1)}s` : `${Math.round(value)}ms`;
}

const MARK = { start: '…', ok: 'ok', fail: 'FAIL', skip: 'skip' } as const;

/** One line per finished step and node: what CI logs and pipes get. */
export class LineReporter implements Reporter {
  constructor(
    private readonly out: NodeJS.WritableStream,
    private readonly redactor: Redactor,
  ) {}

  emit(event: RunEvent): void {
    const line = this.format(event);
    if (line !== undefined) this.out.write(`${this.redactor.apply(line)}\n`);
  }

  protected format(event: RunEvent): string | undefined {
    switch (event.type) {
      case 'run':
        return `relink ${event.command} ${event.env}: ${event.detail} (run ${event.runId})`;
      case 'phase':
        return `== ${event.phase}`;
      case 'step': {
        if (event.status === 'start') return undefined;
        const node = (event.node ?? '-').padEnd(10);
        const took = ms(event.ms).padStart(7);
        const detail = event.detail ? `  ${event.detail}` : '';
        return `${node} ${event.step.padEnd(22)} ${MARK[event.status].padEnd(4)} ${took}${detail}`;
      }
      case 'info':
        return event.node ? `${event.node.padEnd(10)} ${event.message}` : event.message;
      case 'warn':
        return `warning: ${event.node ? `${event.node}: ` : ''}${event.message}`;
    }
  }

  close(): void {}
}

/**
 * On a terminal: a live block with one row per node showing the step it is
 * in, redrawn in place; finished phases and messages scroll above it.
 */
export class LiveReporter extends LineReporter {
  private readonly rows = new Map<string, { step: string; status: string; started: number; ms?: number }>();
  private drawn = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly tty: NodeJS.WriteStream,
    redactor: Redactor,
  ) {
    super(tty, redactor);
  }

  override emit(event: RunEvent): void {
    if (event.type === 'step' && event.node) {
      this.rows.set(event.node, { step: event.step, status: event.status, started: Date.now(), ms: event.ms });
      if (event.status === 'fail') this.print(event);
      this.schedule();
      return;
    }
    this.print(event);
  }

  private print(event: RunEvent): void {
    this.clear();
    super.emit(event);
    this.draw();
  }

  private schedule(): void {
    this.timer ??= setTimeout(() => {
      this.timer = undefined;
      this.clear();
      this.draw();
    }, 50);
  }

  private clear(): void {
    if (this.drawn > 0) this.tty.write(`\x1b[${this.drawn}A\x1b[0J`);
    this.drawn = 0;
  }

  private draw(): void {
    const lines = [...this.rows].map(([node, row]) => {
      const elapsed = row.status === 'start' ? ms(Date.now() - row.started) : ms(row.ms);
      const mark = MARK[row.status as keyof typeof MARK] ?? row.status;
      return `  ${node.padEnd(10)} ${row.step.padEnd(22)} ${mark} ${elapsed}`;
    });
    if (lines.length) this.tty.write(`${lines.join('\n')}\n`);
    this.drawn = lines.length;
  }

  override close(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.clear();
    this.draw();
    this.rows.clear();
    this.drawn = 0;
  }
}

/** Sends events to several reporters (console and run log). */
export class Fanout implements Reporter {
  constructor(private readonly reporters: Reporter[]) {}
  emit(event: RunEvent): void {
    for (const r of this.reporters) r.emit(event);
  }
  close(): void {
    for (const r of this.reporters) r.close();
  }
}

export function consoleReporter(redactor: Redactor, stream: NodeJS.WriteStream = process.stdout): Reporter {
  return stream.isTTY && !process.env.CI ? new LiveReporter(stream, redactor) : new LineReporter(stream, redactor);
}
