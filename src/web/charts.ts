// Small SVG charts built from numbers on the server: no chart library, nothing from a CDN.
import type { RunRecord } from '../app/history.js';
import { computeStats } from '../app/history.js';
import { esc, type Html, trusted } from './html.js';

export interface Week {
  /** Monday of the week, YYYY-MM-DD (UTC). */
  readonly start: string;
  readonly ok: number;
  readonly failed: number;
  readonly rollbacks: number;
  readonly p50Ms: number | null;
  readonly p95Ms: number | null;
}

function monday(t: number): number {
  const d = new Date(t);
  const day = (d.getUTCDay() + 6) % 7;
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate() - day);
}

/** The last `count` weeks up to `now`, oldest first, with the runs of each. */
export function weekly(runs: readonly RunRecord[], now: Date, count = 12): Week[] {
  const last = monday(now.getTime());
  const weekMs = 7 * 86_400_000;
  return Array.from({ length: count }, (_, i) => {
    const start = last - (count - 1 - i) * weekMs;
    const inWeek = runs.filter((r) => {
      const t = Date.parse(r.ts);
      return t >= start && t < start + weekMs;
    });
    const s = computeStats(inWeek);
    return {
      start: new Date(start).toISOString().slice(0, 10),
      ok: s.successes,
      failed: s.failures,
      rollbacks: s.rollbacks,
      p50Ms: s.medianMs,
      p95Ms: s.p95Ms,
    };
  });
}

const W = 640;
const H = 180;
const PAD = { left: 36, bottom: 28, top: 12 };

function frame(title: string, max: number, unit: string, bars: string, weeks: readonly Week[]): Html {
  const plotH = H - PAD.bottom - PAD.top;
  const ticks = [0, 0.5, 1].map((f) => {
    const y = PAD.top + plotH * (1 - f);
    const label = unit === 's' ? (max * f).toFixed(1) : String(Math.round(max * f));
    const line = `<line x1="${PAD.left}" x2="${W}" y1="${y}" y2="${y}" class="grid"/>`;
    return `${line}<text x="${PAD.left - 4}" y="${y + 4}" class="tick" text-anchor="end">${label}</text>`;
  });
  const step = (W - PAD.left) / weeks.length;
  const labels = weeks
    .map((w, i) =>
      i % 2 === 0
        ? `<text x="${PAD.left + step * (i + 0.5)}" y="${H - 10}" class="tick" text-anchor="middle">` +
          `${esc(w.start.slice(5))}</text>`
        : '',
    )
    .join('');
  return trusted(
    `<svg class="chart" viewBox="0 0 ${W} ${H}" role="img" aria-label="${esc(title)}"><title>${esc(title)}</title>` +
      `${ticks.join('')}${bars}${labels}</svg>`,
  );
}

/** Deploys per week, each bar split into succeeded (below) and failed (on top); rollbacks as a dot. */
export function deploysChart(weeks: readonly Week[]): Html {
  const max = Math.max(1, ...weeks.map((w) => w.ok + w.failed), ...weeks.map((w) => w.rollbacks));
  const plotH = H - PAD.bottom - PAD.top;
  const step = (W - PAD.left) / weeks.length;
  const bars = weeks
    .map((w, i) => {
      const x = PAD.left + step * i + step * 0.15;
      const width = step * 0.7;
      const okH = (w.ok / max) * plotH;
      const failH = (w.failed / max) * plotH;
      const base = PAD.top + plotH;
      const tip = `week of ${w.start}: ${w.ok} ok, ${w.failed} failed, ${w.rollbacks} rollback(s)`;
      const dot = w.rollbacks
        ? `<circle cx="${x + width / 2}" cy="${base - (w.rollbacks / max) * plotH}" r="4" class="rollback"/>`
        : '';
      return (
        `<g><title>${esc(tip)}</title>` +
        `<rect x="${x}" y="${base - okH}" width="${width}" height="${okH}" class="ok"/>` +
        `<rect x="${x}" y="${base - okH - failH}" width="${width}" height="${failH}" class="failed"/>${dot}</g>`
      );
    })
    .join('');
  return frame('deploys per week: succeeded, failed; dots: rollbacks', max, '', bars, weeks);
}

/** Deploy duration per week: p50 and p95 side by side, in seconds. */
export function durationChart(weeks: readonly Week[]): Html {
  const max = Math.max(1, ...weeks.map((w) => (w.p95Ms ?? 0) / 1000));
  const plotH = H - PAD.bottom - PAD.top;
  const step = (W - PAD.left) / weeks.length;
  const bars = weeks
    .map((w, i) => {
      const x = PAD.left + step * i + step * 0.15;
      const width = step * 0.35;
      const base = PAD.top + plotH;
      const h50 = ((w.p50Ms ?? 0) / 1000 / max) * plotH;
      const h95 = ((w.p95Ms ?? 0) / 1000 / max) * plotH;
      const s = (ms: number | null) => ((ms ?? 0) / 1000).toFixed(1);
      const tip = `week of ${w.start}: p50 ${s(w.p50Ms)} s, p95 ${s(w.p95Ms)} s`;
      return (
        `<g><title>${esc(tip)}</title><rect x="${x}" y="${base - h50}" width="${width}" height="${h50}" class="p50"/>` +
        `<rect x="${x + width}" y="${base - h95}" width="${width}" height="${h95}" class="p95"/></g>`
      );
    })
    .join('');
  return frame('deploy duration per week (s): p50, p95', max, 's', bars, weeks);
}
