import { mergedCell } from './branches.js';
import { type Html, badge, html, seconds, when } from '../html.js';
import { renderMarkdown } from '../markdown.js';
import type { RunDetail, RunLine, RunRecord } from '../types.js';

/** One row per node and step, in the order the steps began; a later line of the same step replaces it. */
export function stepRows(lines: readonly RunLine[]): RunLine[] {
  const rows = new Map<string, RunLine>();
  for (const line of lines) {
    if (line.kind !== 'step' || !line.step) continue;
    rows.set(`${line.node ?? '-'}|${line.step}`, line);
  }
  return [...rows.values()];
}

function stepRow(line: RunLine): Html {
  const key = `${line.node ?? '-'}|${line.step}`;
  return html`<tr data-key="${key}"><td>${line.node ?? '-'}</td><td>${line.step}</td>
    <td>${badge(line.status ?? 'start')}</td><td class="num">${line.ms === undefined ? '' : seconds(line.ms)}</td>
    <td>${line.detail ?? ''}</td></tr>`;
}

function messages(lines: readonly RunLine[]): Html {
  const shown = lines.filter((l) => l.kind !== 'step');
  return html`<ol id="messages" class="log">${shown.map((l) => {
    const text = l.kind === 'phase' ? `== ${l.phase}` : l.kind === 'run' ? `${l.command} ${l.env}` : l.message;
    return html`<li class="${l.kind}">${l.node ? `${l.node}: ` : ''}${text ?? ''}</li>`;
  })}</ol>`;
}

export function runBody(run: RunDetail, csrf: string, canStop: boolean): Html {
  const state = run.live ? badge('running') : badge(run.result ?? 'unknown');
  const stop =
    canStop && run.live && run.fromWeb
      ? html`<form method="post" action="/runs/${run.run}/stop" class="action"><input type="hidden" name="_csrf"
          value="${csrf}"><button type="submit" class="danger">Stop (as Ctrl-C would: undo, unlock)</button></form>`
      : '';
  const error = run.error ? html`<pre class="flash bad">${run.error}</pre>` : '';
  return html`<p class="meta">environment <a href="/env/${run.env}">${run.env}</a> · by ${run.user ?? '?'}
    · started ${when(run.started)} · <span id="run-state" data-live="${run.live ? '1' : '0'}">${state}</span></p>
    ${stop}${error}
    <section><h2>Steps per node</h2><table id="steps" data-run="${run.run}"
      data-live="${run.live ? '1' : '0'}" data-lines="${run.lines.length}">
      <thead><tr><th>node</th><th>step</th><th>result</th><th>took</th><th>detail</th></tr></thead>
      <tbody>${stepRows(run.lines).map(stepRow)}</tbody></table></section>
    <section><h2>Messages</h2>${messages(run.lines)}</section>
    ${run.report ? html`<section class="report"><h2>Report</h2>${renderMarkdown(run.report)}</section>` : ''}`;
}

/** A run known only from the nodes' journals (it ran on another machine, or its log is gone). */
export function journalRunBody(record: RunRecord): Html {
  return html`<p class="meta">environment <a href="/env/${record.env}">${record.env}</a> · by ${record.user}
    · finished ${when(record.ts)} · ${badge(record.result)}</p>
    <table><tbody><tr><th>command</th><td>${record.command}</td></tr>
    <tr><th>version</th><td>${record.version ?? '-'}${mergedCell(record)}</td></tr>
    <tr><th>release</th><td><code>${record.release ?? '-'}</code></td></tr>
    <tr><th>took</th><td>${seconds(record.ms)}</td></tr><tr><th>nodes</th><td>${record.nodes.join(', ')}</td></tr>
    ${record.reason ? html`<tr><th>reason</th><td>${record.reason}</td></tr>` : ''}
    </tbody></table>
    <p class="hint">This run has no log on this machine: its steps and report are on the machine that ran it
      (deploy report ${record.run} there).</p>`;
}
