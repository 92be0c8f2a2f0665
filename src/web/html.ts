// HTML by tagged template: every interpolated value is escaped unless it is already Html, so a
// release name, a commit subject or an error message can never become markup.
import type { Principal } from './users.js';

export class Html {
  constructor(readonly text: string) {}
  toString(): string {
    return this.text;
  }
}

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

export function esc(value: string): string {
  return value.replace(/[&<>"']/g, (c) => ESCAPES[c]!);
}

function part(value: unknown): string {
  if (value === undefined || value === null || value === false) return '';
  if (value instanceof Html) return value.text;
  if (Array.isArray(value)) return value.map(part).join('');
  return esc(String(value));
}

export function html(strings: TemplateStringsArray, ...values: unknown[]): Html {
  let out = strings[0]!;
  values.forEach((value, i) => {
    out += part(value) + strings[i + 1]!;
  });
  return new Html(out);
}

/** Markup made here, not from data (an SVG chart assembled from numbers). */
export const trusted = (text: string): Html => new Html(text);

/** `3 s ago`, `4 min ago`, `2 h ago`, `5 d ago`. */
export function ago(iso: string | undefined, now: number = Date.now()): string {
  if (!iso) return '-';
  const s = Math.max(0, Math.round((now - Date.parse(iso)) / 1000));
  if (s < 90) return `${s} s ago`;
  if (s < 5400) return `${Math.round(s / 60)} min ago`;
  if (s < 172_800) return `${Math.round(s / 3600)} h ago`;
  return `${Math.round(s / 86_400)} d ago`;
}

export const when = (iso: string | undefined): string => (iso ? `${iso.slice(0, 19).replace('T', ' ')} UTC` : '-');

export function seconds(ms: number | null | undefined): string {
  if (ms === null || ms === undefined) return '-';
  return ms >= 1000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.round(ms)} ms`;
}

/** A status word as a coloured badge; the class is chosen from a fixed list, never from data. */
export function badge(word: string): Html {
  const good = ['ok', 'good', 'success', 'healthy', 'current', 'free'];
  const bad = ['fail', 'failed', 'bad', 'unhealthy', 'unreachable', 'rolled_back', 'drift', 'stale'];
  const warn = ['frozen', 'locked', 'halted', 'partial', 'interrupted', 'running', 'start', 'activated', 'open'];
  const tone = good.includes(word) ? 'good' : bad.includes(word) ? 'bad' : warn.includes(word) ? 'warn' : 'plain';
  return html`<span class="badge ${tone}">${word}</span>`;
}

export interface PageOptions {
  readonly title: string;
  readonly project: string;
  readonly who?: Principal;
  readonly csrf?: string;
  readonly envs?: readonly string[];
  /** When the data on the page was read from the nodes. */
  readonly readAt?: string;
  readonly flash?: { readonly tone: 'good' | 'bad'; readonly text: string };
  readonly body: Html;
}

/** The frame of every page: navigation, who is logged in, how fresh the data is. */
export function page(o: PageOptions): string {
  const scope = o.who?.envs?.length ? ` in ${o.who.envs.join(', ')}` : '';
  const nav = o.who
    ? html`<nav>
        <a class="brand" href="/">relink · ${o.project}</a>
        <a href="/">Overview</a>
        ${(o.envs ?? []).map((env) => html`<a href="/env/${env}">${env}</a>`)}
        <a href="/stats">Stats</a>
        <a href="/gate">Release gate</a>
        <a href="/approvals">Approvals</a>
        <span class="who">${o.who.name} · ${o.who.role}${scope}</span>
        <form method="post" action="/logout"><input type="hidden" name="_csrf" value="${o.csrf ?? ''}">
          <button class="link" type="submit">log out</button></form>
      </nav>`
    : html`<nav><span class="brand">relink · ${o.project}</span></nav>`;
  const fresh = o.readAt
    ? html`<p class="fresh" data-read-at="${o.readAt}">read from the nodes <span class="age">${ago(o.readAt)}</span>
        (${when(o.readAt)}) · <a href="?refresh=1">read again</a></p>`
    : '';
  const flash = o.flash ? html`<p class="flash ${o.flash.tone}">${o.flash.text}</p>` : '';
  return `<!doctype html>${html`<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${o.title} · relink</title><link rel="stylesheet" href="/assets/app.css"></head>
<body>${nav}<main>${flash}<h1>${o.title}</h1>${fresh}${o.body}</main>
<script src="/assets/app.js" defer></script></body></html>`}`;
}

/** A form that changes something: POST with the session's CSRF token. */
export function actionForm(action: string, csrf: string, label: string, fields: Html | string = '', tone = ''): Html {
  return html`<form method="post" action="${action}" class="action">
    <input type="hidden" name="_csrf" value="${csrf}">${fields}
    <button type="submit" class="${tone}">${label}</button></form>`;
}
