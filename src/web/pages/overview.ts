import { type Html, ago, badge, html, when } from '../html.js';
import type { EnvView, GateView, LocalRun, StatusRow, UpcomingJson } from '../types.js';
import { upcomingSection } from './upcoming.js';

/** What a node row says of its lock: a freeze, a run in progress, or nothing. */
export function lockWord(text: string | undefined): Html | string {
  if (!text) return '';
  return text.startsWith('a freeze') ? html`${badge('frozen')} ${text}` : html`${badge('locked')} ${text}`;
}

function nodeRow(view: EnvView, r: StatusRow): Html {
  const pre = r.node === view.pre ? html` <span class="tag">pre</span>` : '';
  if (!r.reachable) {
    return html`<tr class="down" data-node="${r.node}"><td>${r.node}${pre}</td><td colspan="5">${badge('unreachable')}
      ${r.error}</td></tr>`;
  }
  const health = r.healthy ? badge('healthy') : html`${badge('unhealthy')} <small>${r.health}</small>`;
  const unrecorded = r.unrecorded ? html` <small>(not in the journal: relinked by hand?)</small>` : '';
  return html`<tr data-node="${r.node}"><td>${r.node}${pre}</td>
    <td class="version">${r.version ?? '?'}</td>
    <td><code>${r.current ?? '(nothing deployed)'}</code>${unrecorded}</td>
    <td title="${when(r.since)}">${ago(r.since)}</td><td>${health}</td><td>${lockWord(r.lock)}</td></tr>`;
}

export function envSummary(view: EnvView, gate: GateView | undefined): Html {
  if (view.problem) {
    return html`<section class="env" data-env="${view.env}"><h2><a href="/env/${view.env}">${view.env}</a></h2>
      <p class="flash bad">${view.problem}</p></section>`;
  }
  const last = view.runs[0];
  const label =
    last?.version && !last.command.includes(last.version) ? `${last.command} ${last.version}` : last?.command;
  const lastRun = last
    ? html`last run: <a href="/runs/${last.run}">${label}</a> ${badge(last.result)}
        by ${last.user}, ${ago(last.ts)}`
    : 'no runs recorded yet';
  const poisons = (gate?.impact ?? [])
    .map((i) => ({ i, hits: i.affected.filter((a) => a.env === view.env) }))
    .filter((x) => x.hits.length > 0);
  const records = new Map((gate?.records ?? []).map((r) => [r.id, r]));
  const poisonList = poisons.length
    ? html`<ul class="poisons">${poisons.map(
        ({ i, hits }) => html`<li>${badge('open')} <a href="/gate#${i.id}">${i.id}</a>
          ${records.get(i.id)?.comment ?? ''}: on ${hits.map((h) => h.node).join(', ')}</li>`,
      )}</ul>`
    : '';
  const drift = view.status.drift ? html` ${badge('drift')}` : '';
  const down = view.status.nodes.filter((n) => !n.reachable).length;
  return html`<section class="env" data-env="${view.env}">
    <h2><a href="/env/${view.env}">${view.env}</a>${drift}
      ${down ? html` <small>${down} node(s) not answering</small>` : ''}</h2>
    <p class="meta">${lastRun} · window: ${view.window} · read ${ago(view.readAt)}</p>
    ${poisonList}
    <table class="nodes"><thead><tr><th>node</th><th>version</th><th>release</th><th>since</th><th>health</th>
      <th>lock</th></tr></thead><tbody>${view.status.nodes.map((r) => nodeRow(view, r))}</tbody></table>
  </section>`;
}

export function liveRuns(runs: readonly LocalRun[]): Html | string {
  const live = runs.filter((r) => r.live);
  if (live.length === 0) return '';
  return html`<section class="live"><h2>Running now on this machine</h2><ul>${live.map(
    (r) => html`<li>${badge('running')} <a href="/runs/${r.run}">${r.command}</a> by ${r.user ?? '?'},
      started ${ago(r.started)}</li>`,
  )}</ul></section>`;
}

export function overviewBody(
  views: readonly EnvView[],
  gate: GateView | undefined,
  runs: readonly LocalRun[],
  up?: UpcomingJson,
): Html {
  const empty = views.length === 0 ? html`<p>No environments: add hosts/&lt;env&gt;.yaml files.</p>` : '';
  return html`${liveRuns(runs)}${upcomingSection(up)}${empty}${views.map((v) => envSummary(v, gate))}`;
}
