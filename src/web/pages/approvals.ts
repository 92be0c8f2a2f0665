// The approvals page: deploy requests (approve, approve and deploy, deploy once approved), emergency releases
// waiting for their review, and the schedules' standing approvals.
import { type Html, html, when } from '../html.js';
import type { ApprovalsJson } from '../types.js';

const bare = (name: string) => name.replace(/^(web|api):/, '');
const hidden = (csrf: string) => html`<input type="hidden" name="_csrf" value="${csrf}">`;

function requestActions(r: ApprovalsJson['requests'][number], me: string, csrf: string): Html | string {
  if (r.state === 'pending' && bare(r.requester) !== me)
    return html`<form method="post" action="/approvals/${r.id}/approve">${hidden(csrf)}
      <button type="submit" name="deploy" value="0" class="approve">Approve</button>
      <button type="submit" name="deploy" value="1" class="approve-deploy">Approve and deploy</button></form>`;
  if (r.state === 'approved' && (bare(r.requester) === me || bare(r.approver ?? '') === me))
    return html`<form method="post" action="/env/${r.env}/deploy">${hidden(csrf)}
      <input type="hidden" name="version" value="${r.version}">
      <button type="submit" class="deploy">Deploy ${r.version}</button></form>`;
  return '';
}

export function approvalsBody(view: ApprovalsJson, me: string, csrf: string): Html {
  const requests = view.requests.map(
    (r) => html`<tr id="${r.id}" data-state="${r.state}"><td><code>${r.id}</code></td><td>${r.env}</td>
      <td>${r.version} <small><code>${r.commit.slice(0, 12)}</code></small></td>
      <td>${bare(r.requester)}<br><small>${when(r.requestedAt)}</small></td><td class="state">${r.state}</td>
      <td>${r.approver ? bare(r.approver) : ''}${r.expiresAt ? html`<br><small>until ${r.expiresAt}</small>` : ''}</td>
      <td>${requestActions(r, me, csrf)}</td></tr>`,
  );
  const reviews = view.reviews.map(
    (r) => html`<tr id="${r.id}" class="review"><td><code>${r.id}</code></td><td>${r.env}</td><td>${r.version}</td>
      <td>${bare(r.deployer)}<br><small>${when(r.at)}</small></td><td>${r.reason}</td>
      <td><a href="/runs/${r.run}">${r.run}</a></td><td>${
        bare(r.deployer) === me
          ? ''
          : html`<form method="post" action="/approvals/reviews/${r.id}/sign">${hidden(csrf)}
            <button type="submit" class="sign">Sign the review</button></form>`
      }</td></tr>`,
  );
  const schedules = view.schedules.map(
    (s) =>
      html`<tr id="schedule-${s.name}"><td>${s.name}</td><td>${s.env}</td><td>${s.version}</td><td>${
        s.approver
          ? html`standing approval by ${bare(s.approver)}`
          : html`<form method="post" action="/approvals/schedules/${s.name}">${hidden(csrf)}
          <button type="submit" class="standing">Give a standing approval</button></form>`
      }</td></tr>`,
  );
  const table = (head: string[], rows: Html[], none: string) =>
    rows.length
      ? html`<table><thead><tr>${head.map((h) => html`<th>${h}</th>`)}</tr></thead><tbody>${rows}</tbody></table>`
      : html`<p>${none}</p>`;
  return html`<section id="reviews"><h2>Emergency releases to review</h2>${table(
    ['review', 'env', 'version', 'released by', 'reason', 'run', ''],
    reviews,
    'None: every emergency release was reviewed.',
  )}</section>
    <section id="requests"><h2>Deploy requests</h2>${table(
      ['request', 'env', 'version', 'asked by', 'state', 'approved by', ''],
      requests,
      'No requests. A deploy to an environment with approvals starts as one.',
    )}</section>
    <section id="schedules"><h2>Schedules</h2>${table(
      ['schedule', 'env', 'version rule', 'approval'],
      schedules,
      'No schedules.',
    )}</section>`;
}
