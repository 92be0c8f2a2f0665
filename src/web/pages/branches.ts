// The environment page's branch picker (`deploy <env> --branches`) and log search (`deploy logs <env> --grep`).
import { type Html, ago, html, when } from '../html.js';
import type { BranchPicker, NodeMatches, RunRecord } from '../types.js';

/** At most this many matching lines per node on a page. */
export const PAGE_MAX = 100;

/** Remote branches with their last commit, author and age, as checkboxes; posts `deploy <env> --branches`. */
export function branchPicker(env: string, picker: BranchPicker, csrf: string): Html {
  if (!picker.allowed) return html``;
  const rows = picker.branches.map(
    (b) => html`<tr data-branch="${b.name}"><td><label><input type="checkbox" name="branch" value="${b.name}"
      ${b.name === picker.base ? 'disabled' : ''}> ${b.name}</label></td><td><code>${b.commit.slice(0, 10)}</code>
      ${b.subject}</td><td>${b.author}</td><td title="${when(b.date)}">${ago(b.date)}</td></tr>`,
  );
  const bases = picker.branches.map(
    (b) => html`<option value="${b.name}" ${b.name === picker.base ? 'selected' : ''}>${b.name}</option>`,
  );
  return html`<section class="branches" id="branches"><h2>Deploy branches together</h2>
    <form method="post" action="/env/${env}/branches"><input type="hidden" name="_csrf" value="${csrf}">
    <table class="branches"><thead><tr><th>branch</th><th>last commit</th><th>author</th><th>age</th></tr></thead>
    <tbody>${rows}</tbody></table>
    <label>merged onto <select name="base">${bases}</select></label>
    <button type="submit">Merge and deploy</button></form>
    <p class="hint">The ticked branches are merged onto the base in a throwaway commit (never pushed to a branch);
    a conflict stops the run before anything is built, naming the two branches and the files.</p></section>`;
}

/** The log search form (GET: a search changes nothing). */
export function logSearch(env: string, needle = ''): Html {
  return html`<section class="logs" id="logs"><h2>Search the logs</h2>
    <form method="get" action="/env/${env}/logs"><input name="grep" required maxlength="1000" value="${needle}"
      placeholder="a trace id, an error" aria-label="text to find in every node's logs">
    <button type="submit">Search every node</button></form></section>`;
}

/** What a search found, per node; every line is escaped by html``. */
export function logMatches(env: string, needle: string, found: readonly NodeMatches[]): Html {
  const nodes = found.map((n) => {
    const note = n.error
      ? html`<p class="flash bad">${n.error}</p>`
      : n.more
        ? html`<p class="meta">only the newest ${PAGE_MAX} matching lines</p>`
        : '';
    const lines = n.lines.length ? html`<pre>${n.lines.join('\n')}</pre>` : html`<p class="meta">no match</p>`;
    return html`<div class="node" data-node="${n.node}"><h3>${n.node}</h3>${note}${n.error ? '' : lines}</div>`;
  });
  return html`${logSearch(env, needle)}<section><h2>Lines with “${needle}”</h2>${nodes}</section>
    <p><a href="/env/${env}">back to ${env}</a></p>`;
}

/** The branches a run merged, each with its commit, for a history row. */
export function mergedCell(r: RunRecord): Html | string {
  if (!r.merged) return '';
  const list = r.merged.branches.map((b) => html`<li>${b.name} <code>${b.commit.slice(0, 10)}</code></li>`);
  return html`<ul class="merged" title="merged onto ${r.merged.base.name} ${r.merged.base.commit.slice(0, 10)}">
    ${list}</ul>`;
}
