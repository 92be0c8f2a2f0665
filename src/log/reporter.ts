import type { Redactor } from './redact.js';
import type { Reporter, RunEvent } from './events.js';

type StepEvent = Extract<RunEvent, { type: 'step' }>;

/** A duration as the console shows it: `50ms` below a second, `2.3s` above. */
export function ms(value: number | undefined): string {
  if (value === undefined) return '';
  return value >= 1000 ? `${(value / 1000).toFixed(1)}s` : `${Math.round(value)}ms`;
}

export const MARK = { start: '…', ok: 'ok', fail: 'FAIL', skip: 'skip' } as const;

/** The phase a step belongs to: its name up to the colon (`rollout:restart` is in `rollout`). */
export function phaseOf(step: string): string {
  return step.split(':')[0]!;
}

/** The phase a header announces: its first word (`build (started with the connections)` is `build`). */
function headerPhase(title: string): string {
  return title.split(/[\s:]/)[0]!;
}

/** The line of a finished step: node, step, mark, duration, detail. */
export function stepLine(event: StepEvent): string {
  const node = (event.node ?? '-').padEnd(10);
  const took = ms(event.ms).padStart(7);
  const detail = event.detail ? `  ${event.detail}` : '';
  return `${node} ${event.step.padEnd(22)} ${MARK[event.status].padEnd(4)} ${took}${detail}`;
}

/**
 * One line per finished step and node: what CI logs and pipes get. Every
 * step line stands under the header of its own phase: a step of another
 * phase than the last header's gets that phase's header first.
 */
export class LineReporter implements Reporter {
  /** The phase of the last header printed. */
  protected phase: string | undefined;

  constructor(
    private readonly out: NodeJS.WritableStream,
    protected readonly redactor: Redactor,
  ) {}

  emit(event: RunEvent): void {
    for (const line of this.lines(event)) this.out.write(`${this.redactor.apply(line)}\n`);
  }

  /** The lines an event prints, not yet redacted. */
  protected lines(event: RunEvent): string[] {
    switch (event.type) {
      case 'run':
        return [`relink ${event.command} ${event.env}: ${event.detail} (run ${event.runId})`];
      case 'phase':
        this.phase = headerPhase(event.phase);
        return [`== ${event.phase}`];
      case 'step': {
        if (event.status === 'start') return [];
        const phase = phaseOf(event.step);
        if (phase === this.phase) return [stepLine(event)];
        this.phase = phase;
        return [`== ${phase}`, stepLine(event)];
      }
      case 'progress':
        return [];
      case 'info':
        return [event.node ? `${event.node.padEnd(10)} ${event.message}` : event.message];
      case 'warn':
        return [`warning: ${event.node ? `${event.node}: ` : ''}${event.message}`];
    }
  }

  close(): void {}
}

/** Sends events to several reporters (console and run log). */
export class Broadcast implements Reporter {
  constructor(private readonly reporters: Reporter[]) {}
  emit(event: RunEvent): void {
    for (const r of this.reporters) r.emit(event);
  }
  close(): void {
    for (const r of this.reporters) r.close();
  }
}
