import { type Html, ago, badge, html, seconds, when } from '../html.js';
import type { BranchPicker, EnvView, LocalRun, RollbackRow, RunRecord } from '../types.js';
import { branchPicker, logSearch, mergedCell } from './branches.js';
import { liveRuns, lockWord } from './overview.js';

export function runsTable(runs: readonly RunRecord[]): Html {
  if (runs.length === 0) return html`<p>No runs recorded on the nodes yet.</p>`;
  return html`<table class="runs"><thead><tr><th>finished</th><th>who</th><th>command</th><th>version</th>
    <th>result</th><th>took</th><th>nodes</th></tr></thead><tbody>${runs.map(
      (r) => html`<tr><td title="${when(r.ts)}"><a href="/runs/${r.run}">${ago(r.ts)}</a></td><td>${r.user}</td>
        <td>${r.command}</td><td>${r.version ?? '-'}${mergedCell(r)}</td>
        <td>${badge(r.result)}${r.emergency ? ' emergency' : ''}</td>
        <td>${seconds(r.ms)}</td><td>${r.nodes.join(', ')}</td></tr>`,
    )}</tbody></table>`;
}

export function rollbackRows(rows: readonly RollbackRow[]): Html {
  return html`<table class="targets"><thead><tr><th>node</th><th>runs now</th><th></th><th>goes to</th><th></th>
    </tr></thead><tbody>${rows.map((r) => {
      const bugs = r.knownBugs?.length
        ? html` ${badge('open')} known bugs without their fix: ${r.knownBugs.join(', ')}`
        : '';
      const note = r.problem
        ? html`${badge('fail')} ${r.problem}`
        : r.untouched
          ? 'not changed by the last run: stays'
          : r.target?.release === r.current
            ? 'already there'
            : '';
      return html`<tr data-node="${r.node}"><td>${r.node}</td><td>${r.currentVersion ?? r.current ?? '(none)'}</td>
        <td>→</td><td>${r.target ? html`${r.target.version} <code>${r.target.release}</code>` : '-'}</td>
        <td>${note}${bugs}</td></tr>`;
    })}</tbody></table>`;
}

function actions(view: EnvView, tags: readonly string[]): Html {
  const env = view.env;
  const options = tags.map((t) => html`<option value="${t}">${t}</option>`);
  const to = view.rollback.to.map((v) => html`<option value="${v}">${v}</option>`);
  const frozen = view.locks.nodes.find((n) => n.owner?.kind === 'freeze')?.owner;
  const freeze = frozen
    ? html`<form method="get" action="/env/${env}/unfreeze"><input type="hidden" name="run" value="${frozen.run}">
        <button type="submit">Unfreeze…</button>
        <small>frozen by ${frozen.user}: ${frozen.message ?? ''}</small></form>`
    : html`<form method="get" action="/env/${env}/freeze"><input name="message" required placeholder="why"
        aria-label="why deploys are frozen"> <button type="submit">Freeze…</button></form>`;
  return html`<section class="actions" id="actions"><h2>Actions</h2><div class="grid">
    <form method="get" action="/env/${env}/deploy"><label>Deploy
      <select name="version" required>${options}</select></label> <button type="submit">Show the plan…</button></form>
    <form method="get" action="/env/${env}/rollback"><input type="hidden" name="target" value="last">
      <button type="submit" data-action="rollback-last">Roll back (--last)…</button></form>
    <form method="get" action="/env/${env}/rollback"><label>Roll back to
      <select name="to" required>${to}</select></label> <button type="submit">Review…</button></form>
    <form method="get" action="/env/${env}/rollback"><input type="hidden" name="target" value="last">
      <input type="hidden" name="emergency" value="1">
      <button type="submit" class="danger">Emergency rollback…</button></form>
    ${freeze}
  </div><p class="hint">Each action shows what it will do before you confirm it; it runs through the same gates,
    locks and journal as the command line, in your name.</p></section>`;
}

/** What a deployer of the environment also gets: the branch picker (where it takes branches), the CSRF token. */
export interface DeployerParts {
  readonly picker?: BranchPicker;
  readonly csrf: string;
}

export function envBody(
  view: EnvView,
  runs: readonly LocalRun[],
  tags: readonly string[],
  canAct: boolean,
  deployer?: DeployerParts,
): Html {
  if (view.problem) return html`<p class="flash bad">${view.problem}</p>`;
  const corrupt = view.corrupt.map(
    (c) => html`<p class="flash bad">${c.node}: ${c.lines} journal line(s) are not records and were skipped</p>`,
  );
  const nodes = view.releases.nodes.map((n) => {
    const status = view.status.nodes.find((s) => s.node === n.node);
    const lock = view.locks.nodes.find((l) => l.node === n.node);
    const head = html`<h3>${n.node}${n.node === view.pre ? html` <span class="tag">pre</span>` : ''}
      ${status?.reachable === false ? badge('unreachable') : status?.healthy ? badge('healthy') : badge('unhealthy')}
      <small>${status?.reachable ? status.health : n.error}</small>
      ${lockWord(lock?.locked ? lock.text : undefined)}</h3>`;
    if (n.error) return html`<div class="node" data-node="${n.node}">${head}</div>`;
    const rows = n.releases.map(
      (r) => html`<tr class="${r.current ? 'current' : ''}"><td>${r.current ? badge('current') : ''}
        ${badge(r.status)}</td><td class="version">${r.version ?? '?'}</td>
        <td><code>${(r.commit ?? '').slice(0, 10)}</code></td>
        <td title="${when(r.since)}">${ago(r.since)}</td><td><code>${r.name}</code></td>
        <td>${r.knownBugs?.length ? html`${badge('open')} ${r.knownBugs.join(', ')}` : ''}</td></tr>`,
    );
    return html`<div class="node" data-node="${n.node}">${head}<table class="releases"><thead><tr><th>status</th>
      <th>version</th><th>commit</th><th>age</th><th>release</th><th>known bugs</th></tr></thead>
      <tbody>${rows}</tbody></table></div>`;
  });
  return html`${corrupt}<p class="meta">window: ${view.window}${view.status.drift ? html` · ${badge('drift')}` : ''}
    · deployTo <code>${view.releases.deployTo}</code></p>
    ${liveRuns(runs)}
    ${canAct ? actions(view, tags) : ''}
    ${canAct && deployer?.picker ? branchPicker(view.env, deployer.picker, deployer.csrf) : ''}
    ${canAct ? logSearch(view.env) : ''}
    <section><h2>Rollback targets (--last)</h2>${rollbackRows(view.rollback.last)}
      <p class="meta">--to can reach on every node: ${view.rollback.to.join(', ') || 'nothing'}</p></section>
    <section><h2>Releases per node</h2>${nodes}</section>
    <section><h2>History</h2>${runsTable(view.runs.slice(0, 30))}</section>`;
}
