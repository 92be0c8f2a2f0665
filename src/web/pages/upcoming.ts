import { type Html, html } from '../html.js';
import { renderMarkdown } from '../markdown.js';
import type { ReleasePlan, UpcomingJson } from '../types.js';

const whenText = (p: ReleasePlan) => (p.time.at ? `${p.time.at.slice(0, 16).replace('T', ' ')} UTC` : 'not fixed');

/** The overview's list of announced releases still to come, each linking to its plan. */
export function upcomingSection(up: UpcomingJson | undefined): Html | string {
  if (!up || up.releases.length === 0) return '';
  const offline = up.offline ? html`<p class="flash bad">announcements as fetched last: ${up.offline}</p>` : '';
  return html`<section class="upcoming"><h2>Upcoming releases</h2>${offline}
    <table><thead><tr><th>when</th><th>env</th><th>version</th><th>owner</th><th>plan</th></tr></thead><tbody>
    ${up.releases.map(
      (p) => html`<tr data-announcement="${p.id}"><td>${whenText(p)}</td><td><a href="/env/${p.env}">${p.env}</a></td>
        <td class="version">${p.version}</td><td>${p.people.owner?.name ?? '-'}</td>
        <td><a href="/announcements/${p.id}">${p.id}</a>${p.schedule ? ` (schedule ${p.schedule})` : ''}</td></tr>`,
    )}</tbody></table></section>`;
}

/** One announced plan, as it was mailed. */
export function announcementBody(markdown: string): Html {
  return html`<article class="report">${renderMarkdown(markdown)}</article>`;
}
