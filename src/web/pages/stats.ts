import { computeDora, computeStats, type Dora, type Stats } from '../../app/history.js';
import { deploysChart, durationChart, weekly } from '../charts.js';
import { type Html, html, seconds } from '../html.js';
import type { EnvView, RunRecord } from '../types.js';

function numbers(name: string, s: Stats): Html {
  const rate = s.successRate === null ? '-' : `${Math.round(s.successRate * 100)}%`;
  return html`<tr data-env="${name}"><th>${name}</th><td>${s.deploys}</td><td>${s.successes}</td><td>${s.failures}</td>
    <td>${s.interrupted}</td><td>${rate}</td><td>${seconds(s.medianMs)}</td><td>${seconds(s.p95Ms)}</td>
    <td>${seconds(s.mttrMs)}</td><td>${s.rollbacks} (${s.rollbacksEmergency} emergency)</td>
    <td>${s.poisonOverrides}</td><td>${s.emergencyReleases}</td></tr>`;
}

/** DORA's four keys of one environment: each value with its band. */
function doraRow(name: string, dora: Dora): Html {
  const cell = (k: Dora[keyof Dora], show: (value: number) => string) =>
    k.value === null
      ? html`<td>-</td>`
      : html`<td class="band ${k.band ?? ''}">${show(k.value)} <small>${k.band ?? ''}</small></td>`;
  const hours = (h: number) => (h < 48 ? `${h.toFixed(1)} h` : `${(h / 24).toFixed(1)} d`);
  const percent = (v: number) => `${Math.round(v * 100)}%`;
  return html`<tr data-env="${name}"><th>${name}</th>
    ${cell(dora.deployment_frequency, (v) => `${v.toFixed(2)}/day`)}${cell(dora.lead_time_for_changes, hours)}
    ${cell(dora.change_failure_rate, percent)}${cell(dora.time_to_restore_service, hours)}</tr>`;
}

/** Numbers over the last `weeks` weeks per environment and in all, and a chart of each environment's weeks. */
export function statsBody(views: readonly EnvView[], weeks: number, now: Date): Html {
  const cutoff = new Date(now.getTime() - weeks * 7 * 86_400_000).toISOString();
  const runsOf = (v: EnvView): RunRecord[] => v.runs.filter((r) => r.ts >= cutoff);
  const all = views.flatMap(runsOf);
  const table = html`<table class="stats"><thead><tr><th></th><th>deploys</th><th>ok</th><th>failed</th>
    <th>interrupted</th><th>success rate</th><th>p50</th><th>p95</th><th>time to recover</th><th>rollbacks</th>
    <th>known bugs allowed</th><th>emergency releases</th></tr></thead>
    <tbody>${views.map((v) => numbers(v.env, computeStats(runsOf(v))))}${numbers('all', computeStats(all))}</tbody>
    </table>`;
  const spanMs = weeks * 7 * 86_400_000;
  const keyed = views.flatMap((v) => (v.dora ? [doraRow(v.env, computeDora(runsOf(v), { spanMs, ...v.dora }))] : []));
  const dora = keyed.length
    ? html`<table class="stats dora"><thead><tr><th></th><th>deployment frequency</th><th>lead time for changes</th>
        <th>change failure rate</th><th>time to restore service</th></tr></thead><tbody>${keyed}</tbody></table>`
    : html``;
  const charts = views.map((v) => {
    const w = weekly(runsOf(v), now, weeks);
    return html`<section class="charts" data-env="${v.env}"><h2>${v.env}</h2>
      <figure>${deploysChart(w)}<figcaption>deploys per week: <span class="key ok">succeeded</span>
        <span class="key failed">failed</span> <span class="key rollback">rollbacks</span></figcaption></figure>
      <figure>${durationChart(w)}<figcaption>deploy duration per week: <span class="key p50">p50</span>
        <span class="key p95">p95</span></figcaption></figure></section>`;
  });
  const choose = [4, 12, 26, 52].map((n) =>
    n === weeks ? html`<strong>${n} weeks</strong>` : html`<a href="/stats?weeks=${n}">${n} weeks</a>`,
  );
  const periods = choose.map((c, i) => html`${i ? ' · ' : ''}${c}`);
  return html`<p class="meta">from the journals on the nodes · ${periods}</p>
    ${table}${dora}${charts}`;
}
