// What each action will do, shown before its confirm button (the web's `deploy plan`).
import { type Html, actionForm, badge, html } from '../html.js';
import type { LockRow, Plan, PoisonRecord, RollbackRow, RollbackTarget } from '../types.js';
import { rollbackRows } from './env.js';

/** The analysis the rollout holds for (config `analysis`): where, and each query as it goes out. */
function analysisRow(analysis: Plan['analysis']): Html | string {
  if (!analysis) return '';
  const each = `${analysis.count} × ${analysis.intervalMs / 1000}s, ${analysis.failureLimit} failure(s) tolerated`;
  return html`<tr><th>analysis</th><td>${analysis.prometheus}, ${each}<ol class="steps">${analysis.stages.map(
    (s) => html`<li>after group ${s.afterGroup}: ${s.canary.join(', ')}</li>`,
  )}${(analysis.steps ?? []).map(
    (s, i, all) =>
      html`<li>traffic step ${i + 1}/${all.length}: ${s.percent}% to the canary (weight ${s.canaryWeight} against
      ${s.othersWeight} on the others)</li>`,
  )}${analysis.queries.map(
    (q) => html`<li><code>${q.name}</code> ${[q.condition, q.baseline].filter(Boolean).join(', ')}:
      <code>${q.promql}</code></li>`,
  )}${analysis.alerts ? alertsItem(analysis.alerts.source, analysis.alerts.matchers) : ''}</ol></td></tr>`;
}

function alertsItem(source: string, matchers: readonly string[]): Html {
  return html`<li>no alert firing in ${source} with <code>{${matchers.join(',')}}</code></li>`;
}

export function deployConfirm(env: string, plan: Plan, csrf: string): Html {
  const outside = plan.window.startsWith('OUTSIDE');
  const poisons = plan.openPoisons.map(
    (p) => html`<label class="check"><input type="checkbox" name="allowPoison" value="${p.id}">
      release anyway with ${p.id}: ${p.comment}${p.ticket ? ` [${p.ticket}]` : ''}
      (poison ${p.commit.slice(0, 12)})</label>`,
  );
  const needsReason = outside || plan.openPoisons.length > 0;
  const fields = html`<input type="hidden" name="version" value="${plan.version}">
    ${
      outside
        ? html`<label class="check"><input type="checkbox" name="emergency" value="1"> outside the release
      windows: release as an emergency (journaled)</label>`
        : ''
    }
    ${poisons}
    ${
      plan.analysis
        ? html`<label class="check"><input type="checkbox" name="skipAnalysis" value="1"> skip the analysis
      (needs the reason; journaled)</label>`
        : ''
    }
    <label>reason, for the journal${needsReason ? ' (required for an emergency or a known bug)' : ''}
      <input name="reason" ${needsReason ? 'required' : ''}></label>`;
  const nodes = plan.nodes.map((n, i) => {
    const pre = n.pre ? ' (pre: a failure here stops the release)' : '';
    const head =
      n.group !== plan.nodes[i - 1]?.group
        ? html`<tr class="group"><th colspan="3">group ${n.group}${pre}</th></tr>`
        : '';
    const now = n.currentVersion ?? n.current ?? '(nothing)';
    return html`${head}<tr data-node="${n.node}"><td>${n.node}</td><td>now ${now}</td>
      <td><ol class="steps">${n.steps.map((s) => html`<li><code>${s.step}</code> ${s.detail}</li>`)}</ol></td></tr>`;
  });
  return html`<p class="meta">nothing has been changed yet</p>
    <table class="plan"><tbody>
      <tr><th>version</th><td>${plan.version} <code>${plan.commit.slice(0, 12)}</code> ${plan.subject}</td></tr>
      <tr><th>branch</th><td>${plan.branch}</td></tr><tr><th>release</th><td><code>${plan.release}</code></td></tr>
      <tr><th>window</th><td>${outside ? badge('fail') : ''} ${plan.window}</td></tr>
      <tr><th>commits since what runs now</th><td>${plan.commits.length}<ul>${plan.commits
        .slice(0, 20)
        .map((c) => html`<li><code>${c.sha.slice(0, 10)}</code> ${c.subject}</li>`)}</ul></td></tr>
      <tr><th>bugfixes</th><td>${plan.bugfixes.map((b) => `${b.id} ${b.comment}`).join('; ') || 'none'}</td></tr>
      <tr><th>known bugs still open</th><td>${
        plan.openPoisons.length
          ? html`${badge('open')} ${plan.openPoisons.length}
        (refused unless allowed below)`
          : 'none'
      }</td></tr>
      <tr><th>hooks</th><td>${
        plan.hooks.length
          ? html`<ol class="steps">${plan.hooks.map(
              (h) => html`<li><code>${h.point}</code> ${h.name} on ${h.on.join(', ') || 'the deploy machine'}:
                <code>${h.command}</code></li>`,
            )}</ol>`
          : 'none'
      }</td></tr>
      ${analysisRow(plan.analysis)}
    </tbody></table>
    <table class="plan-nodes"><tbody>${nodes}</tbody></table>
    ${actionForm(`/env/${env}/deploy`, csrf, `Deploy ${plan.version} to ${env}`, fields, 'primary')}`;
}

export function rollbackConfirm(
  env: string,
  rows: readonly RollbackRow[],
  target: RollbackTarget,
  emergency: boolean,
  csrf: string,
): Html {
  const problems = rows.filter((r) => r.problem);
  const spec = target.kind === 'last' ? '--last' : `--to ${target.spec}`;
  const warning = emergency
    ? html`<p class="flash bad">Emergency rollback: every node at once, relink and restart only: no drain, no smoke
        test (requests may fail). Use it when the ordinary rollback cannot work.</p>`
    : html`<p class="meta">Group by group as a deploy: pre first, drain, relink, restart, smoke test, undrain.</p>`;
  const force = problems.length
    ? html`<label class="check"><input type="checkbox" name="force" value="1"> ${problems.length} node(s) cannot
        be rolled back: roll back only the nodes that can (--force)</label>`
    : '';
  // Known bugs of the targets: refused unless allowed (an emergency lands on them, and says so).
  const bugs = [...new Set(rows.filter((r) => !r.problem && !r.untouched).flatMap((r) => r.knownBugs ?? []))];
  const allow = emergency
    ? bugs.length
      ? html`<p class="flash bad">lands on known bugs without their fix: ${bugs.join(', ')} (journaled, notified)</p>`
      : ''
    : bugs.map(
        (id) => html`<label class="check"><input type="checkbox" name="allowPoison" value="${id}">
          roll back onto ${id} anyway (known bug without its fix)</label>`,
      );
  const fields = html`<input type="hidden" name="target" value="${target.kind}">
    ${target.kind === 'to' ? html`<input type="hidden" name="to" value="${target.spec}">` : ''}
    ${emergency ? html`<input type="hidden" name="emergency" value="1">` : ''}
    ${force}${allow}<label>reason, for the journal${bugs.length ? ' (required for a known bug)' : ''}
      <input name="reason" ${bugs.length && !emergency ? 'required' : ''}></label>`;
  const label = `${emergency ? 'Emergency rollback' : 'Roll back'} ${env} ${spec}`;
  return html`${warning}${rollbackRows(rows)}
    ${actionForm(`/env/${env}/rollback`, csrf, label, fields, emergency ? 'danger' : 'primary')}`;
}

export function freezeConfirm(env: string, message: string, nodes: readonly LockRow[], csrf: string): Html {
  const busy = nodes.filter((n) => n.locked || !n.reachable);
  return html`<p>Takes the deploy lock on every node of ${env} (${nodes.map((n) => n.node).join(', ')}) as a freeze:
    deploys refuse until it is lifted; an emergency rollback with --force still works.</p>
    ${busy.length ? html`<p class="flash bad">${busy.map((n) => `${n.node}: ${n.error ?? n.text}`).join('; ')}` : ''}
    ${actionForm(
      `/env/${env}/freeze`,
      csrf,
      `Freeze ${env}`,
      html`<label>why <input name="message" value="${message}"
      required></label>`,
      'primary',
    )}`;
}

export function unfreezeConfirm(env: string, run: string, nodes: readonly LockRow[], csrf: string): Html {
  const held = nodes.filter((n) => n.owner?.run === run);
  const other = nodes.filter((n) => n.locked && n.owner?.run !== run);
  return html`<p>Lifts the freeze of run <code>${run}</code> on ${held.map((n) => n.node).join(', ') || 'no node'}.</p>
    ${
      other.length
        ? html`<p class="flash bad">Other locks stay: ${other.map((n) => `${n.node}: ${n.text}`).join('; ')}
      (to break them: deploy unlock ${env} --force)</p>`
        : ''
    }
    ${actionForm(
      `/env/${env}/unfreeze`,
      csrf,
      `Unfreeze ${env}`,
      html`<input type="hidden" name="run" value="${run}">`,
      'primary',
    )}`;
}

export function poisonConfirm(
  commit: { commit: string; subject: string },
  message: string,
  ticket: string,
  csrf: string,
): Html {
  const fields = html`<input type="hidden" name="commit" value="${commit.commit}">
    <input type="hidden" name="message" value="${message}"><input type="hidden" name="ticket" value="${ticket}">`;
  return html`<p>Records a known bug at <code>${commit.commit.slice(0, 12)}</code> ${commit.subject}: "${message}"
    ${ticket ? `[${ticket}]` : ''}. Every release whose history has this commit and no cure is refused by the gate,
    in every environment, until a cure is recorded.</p>
    ${actionForm('/gate/poison', csrf, 'Record the poison', fields, 'danger')}`;
}

export function cureConfirm(record: PoisonRecord, fix: { commit: string; subject: string }, csrf: string): Html {
  const fields = html`<input type="hidden" name="id" value="${record.id}">
    <input type="hidden" name="fix" value="${fix.commit}">`;
  return html`<p>Records <code>${fix.commit.slice(0, 12)}</code> ${fix.subject} as the fix of ${record.id}
    (${record.comment}): releases that contain it pass the gate for this bug.</p>
    ${actionForm('/gate/cure', csrf, 'Record the cure', fields, 'primary')}`;
}
