// The runs this machine knows: the run logs (.relink/logs/<run>.jsonl) and reports (.relink/reports/<run>.md)
// that every deploy and rollback writes, whether the dashboard or the CLI started it, and the runs the
// dashboard itself has going. Following a run tails its log as the run writes it (one tail per run).
import fs from 'node:fs';
import path from 'node:path';
import { alive } from '../app/serve.js';
import { processRedactor } from '../log/redact.js';
import { RunTail } from './tail.js';
import type { LocalRun, RunDetail, RunEnd, RunLine, RunStore } from './types.js';

/** A run the dashboard started in this process. */
export interface WebRun {
  readonly run: string;
  readonly env: string;
  readonly command: string;
  readonly user: string;
  readonly started: string;
  readonly stop: AbortController;
  done?: { result: string; error?: string };
}

interface Parsed {
  readonly size: number;
  readonly mtimeMs: number;
  readonly lines: RunLine[];
}

/** A CLI run whose log has not grown for this long, without a report or a local lock, has ended. */
const QUIET_MS = 15_000;

export function parseLine(text: string): RunLine | undefined {
  let o: Record<string, unknown>;
  try {
    o = JSON.parse(text) as Record<string, unknown>;
  } catch {
    return undefined;
  }
  const level = typeof o.level === 'number' ? o.level : 30;
  const kind = (o.kind as RunLine['kind'] | undefined) ?? (o.step ? 'step' : level >= 40 ? 'warn' : 'info');
  const pick = <T>(key: string) => (o[key] === undefined ? undefined : (o[key] as T));
  return {
    time: String(o.time ?? ''),
    kind,
    step: pick('step'),
    node: pick('node'),
    status: pick('status'),
    ms: pick('ms'),
    detail: pick('detail'),
    message: pick('message'),
    phase: pick('phase'),
    command: pick('command'),
    env: pick('env'),
  };
}

export class FileRuns implements RunStore {
  readonly web = new Map<string, WebRun>();
  private readonly cache = new Map<string, Parsed>();
  private readonly tails = new Map<string, RunTail>();
  private readonly logs: string;
  private readonly reports: string;

  constructor(private readonly stateDir: string) {
    this.logs = path.join(stateDir, 'logs');
    this.reports = path.join(stateDir, 'reports');
  }

  list(env?: string, limit = 50): LocalRun[] {
    const names = fs.existsSync(this.logs) ? fs.readdirSync(this.logs).filter((f) => f.endsWith('.jsonl')) : [];
    const ids = names.map((f) => f.slice(0, -'.jsonl'.length)).filter(safeId);
    const out: LocalRun[] = [];
    for (const id of ids.sort().reverse()) {
      const run = this.summary(id);
      if (run && (!env || run.env === env)) out.push(run);
      if (out.length >= limit) break;
    }
    return out;
  }

  get(id: string): RunDetail | undefined {
    const run = safeId(id) ? this.summary(id) : undefined;
    if (!run) return undefined;
    const report = this.report(id);
    return { ...run, lines: this.lines(id), report, fromWeb: this.web.has(id) };
  }

  /** The run's lines through the one tail of its log that all its followers share. */
  follow(id: string, signal: AbortSignal): AsyncIterable<RunLine | RunEnd> {
    if (!safeId(id)) return (async function* () {})();
    let tail = this.tails.get(id);
    if (!tail) {
      const made: RunTail = new RunTail(
        path.join(this.logs, `${id}.jsonl`),
        () => this.ended(id),
        () => this.tails.get(id) === made && this.tails.delete(id),
        parseLine,
      );
      this.tails.set(id, made);
      tail = made;
    }
    return tail.follow(signal);
  }

  /** How many run logs are being tailed now. */
  tailCount(): number {
    return this.tails.size;
  }

  /** How the run ended, or undefined while it goes on. */
  private ended(id: string): { result: string; error?: string } | undefined {
    const mine = this.web.get(id);
    if (mine) return mine.done;
    const report = this.report(id);
    if (report) return { result: resultOf(report) };
    const run = this.summary(id);
    return run?.live ? undefined : { result: run?.result ?? 'unknown' };
  }

  private summary(id: string): LocalRun | undefined {
    const mine = this.web.get(id);
    const lines = this.lines(id);
    const first = lines.find((l) => l.kind === 'run');
    const env = mine?.env ?? first?.env ?? lines[0]?.env;
    const command = mine?.command ?? first?.command;
    if (!env || !command) return undefined;
    const report = this.report(id);
    // A plan also logs a deploy's first lines; a run is one that reached its gates, or a rollback.
    const isRun = mine || report || command.startsWith('rollback') || lines.some((l) => l.phase === 'gates');
    if (!isRun) return undefined;
    const started = mine?.started ?? first?.time ?? lines[0]?.time ?? '';
    const live = mine ? !mine.done : !report && this.cliLive(id, env);
    return {
      run: id,
      env,
      command: mine?.command ?? first?.command ?? command,
      started,
      live,
      result: mine?.done?.result ?? (report ? resultOf(report) : live ? undefined : 'ended without a report'),
      user: mine?.user ?? (report ? /^\| who \| (.*) \|$/m.exec(report)?.[1] : undefined),
      error: mine?.done?.error,
    };
  }

  /** A CLI run goes on while its log grows or this machine's local lock for its env is held by a live pid. */
  private cliLive(id: string, env: string): boolean {
    const file = path.join(this.logs, `${id}.jsonl`);
    const recent = fs.existsSync(file) && Date.now() - fs.statSync(file).mtimeMs < QUIET_MS;
    if (recent) return true;
    const pidFile = path.join(this.stateDir, `deploy-${env}.pid`);
    const pid = fs.existsSync(pidFile) ? Number(fs.readFileSync(pidFile, 'utf8')) : Number.NaN;
    if (!Number.isInteger(pid) || pid <= 0 || !alive(pid)) return false;
    // The lock is held: by this run only if it is the newest run log of that env.
    return this.newestOf(env) === id;
  }

  private newestOf(env: string): string | undefined {
    const names = fs.readdirSync(this.logs).filter((f) => f.endsWith('.jsonl'));
    for (const f of names.sort().reverse()) {
      const id = f.slice(0, -'.jsonl'.length);
      if (this.lines(id).find((l) => l.kind === 'run')?.env === env) return id;
    }
    return undefined;
  }

  private lines(id: string): RunLine[] {
    const file = path.join(this.logs, `${id}.jsonl`);
    if (!fs.existsSync(file)) return [];
    const stat = fs.statSync(file);
    const cached = this.cache.get(id);
    if (cached && cached.size === stat.size && cached.mtimeMs === stat.mtimeMs) return cached.lines;
    const text = processRedactor.apply(fs.readFileSync(file, 'utf8'));
    const lines = text.split('\n').flatMap((t) => (t.trim() ? (parseLine(t) ?? []) : []));
    this.cache.delete(id);
    this.cache.set(id, { size: stat.size, mtimeMs: stat.mtimeMs, lines });
    // Bounded: the oldest parsed logs are dropped first (a Map keeps insertion order).
    if (this.cache.size > 200) this.cache.delete(this.cache.keys().next().value!);
    return lines;
  }

  private report(id: string): string | undefined {
    const file = path.join(this.reports, `${id}.md`);
    return fs.existsSync(file) ? processRedactor.apply(fs.readFileSync(file, 'utf8')) : undefined;
  }
}

/** `# deploy prod v1.2.0: success` -> `success`. */
function resultOf(report: string): string {
  const heading = report.split('\n', 1)[0] ?? '';
  return heading.slice(heading.lastIndexOf(': ') + 2).trim() || 'unknown';
}

/** Run ids are `<stamp>-<hex>`: nothing else names a file here. */
export function safeId(id: string): boolean {
  return /^[0-9]{8}-[0-9]{6}-[0-9a-f]{6}$/.test(id);
}
