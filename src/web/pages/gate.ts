import { type Html, badge, html, when } from '../html.js';
import type { CheckJson, GateView } from '../types.js';

function checkResult(check: CheckJson | { error: string } | undefined): Html | string {
  if (!check) return '';
  if ('error' in check) return html`<p class="flash bad" id="check-result">${check.error}</p>`;
  const verdict = check.healthy
    ? html`${badge('healthy')} ${check.rev} (${check.commit.slice(0, 12)}) has no known bug without its fix`
    : html`${badge('fail')} ${check.rev} (${check.commit.slice(0, 12)}) has ${check.open.length} known bug(s)
        without their fix: ${check.open.map((r) => html`<a href="#${r.id}">${r.id}</a> ${r.comment}; `)}`;
  const cured = check.cured.length
    ? html` · cured in its history: ${check.cured.map((c) => `${c.id} (${c.how})`).join(', ')}`
    : '';
  return html`<p id="check-result">${verdict}${cured}</p>`;
}

export function gateBody(gate: GateView, check: CheckJson | { error: string } | undefined, canWrite: boolean): Html {
  const offline = gate.offline
    ? html`<p class="flash bad">cannot fetch the repository (${gate.offline}): the records fetched last</p>`
    : '';
  const malformed = gate.malformed.length
    ? html`<p class="flash bad">skipped malformed records: ${gate.malformed.join(', ')}</p>`
    : '';
  // The check after a hotfix: a bug with its fix recorded that some node still runs without it.
  const notYet = gate.records.flatMap((r) => {
    const nodes = gate.impact.find((i) => i.id === r.id)?.affected ?? [];
    return r.cures.length && nodes.length ? [{ r, nodes }] : [];
  });
  const hotfix = notYet.length
    ? html`<section id="not-yet-fixed"><h2>Fixed, but still running without the fix</h2><ul>${notYet.map(
        ({ r, nodes }) => html`<li><a href="#${r.id}">${r.id}</a> ${r.comment}:
          ${nodes.map((a) => `${a.env}/${a.node} (${a.version ?? '?'})`).join(', ')}</li>`,
      )}</ul></section>`
    : '';
  const rows = gate.records.map((r) => {
    const impact = gate.impact.find((i) => i.id === r.id);
    const where = impact?.affected.length
      ? impact.affected.map((a) => `${a.env}/${a.node} (${a.version ?? '?'})`).join(', ')
      : 'no node runs it without the fix';
    const cures = r.cures.length
      ? r.cures.map((c) => `${c.commit.slice(0, 12)} by ${c.who}`).join(', ')
      : html`${badge('open')}`;
    return html`<tr id="${r.id}"><td><code>${r.id}</code></td><td><code>${r.commit.slice(0, 12)}</code></td>
      <td>${r.comment}${r.ticket ? html` <small>[${r.ticket}]</small>` : ''}</td>
      <td>${r.who}<br><small>${when(r.when)}</small></td>
      <td>${cures}</td><td>${where}</td></tr>`;
  });
  const forms = canWrite
    ? html`<section class="actions"><h2>Record</h2><div class="grid">
        <form method="get" action="/gate/poison"><label>Poison: commit <input name="commit" required></label>
          <label>what the bug is <input name="message" required></label>
          <label>ticket <input name="ticket"></label> <button type="submit">Review…</button></form>
        <form method="get" action="/gate/cure"><label>Cure: record <select name="id" required>${gate.records
          .filter((r) => r.cures.length === 0)
          .map((r) => html`<option value="${r.id}">${r.id}: ${r.comment}</option>`)}</select></label>
          <label>fix commit <input name="fix" required></label> <button type="submit">Review…</button></form>
      </div></section>`
    : '';
  return html`${offline}${malformed}${hotfix}
    <section><h2>Check a version</h2><form method="get" action="/gate"><label>tag, branch or commit
      <input name="check" required></label> <button type="submit">Check</button></form>${checkResult(check)}</section>
    <section><h2>Known bugs (poison records)</h2>${
      gate.records.length
        ? html`<table class="poison"><thead><tr><th>id</th><th>poison commit</th><th>what</th><th>recorded</th>
          <th>cured by</th><th>runs it without the fix</th></tr></thead><tbody>${rows}</tbody></table>`
        : html`<p>No poison records.</p>`
    }</section>${forms}`;
}
