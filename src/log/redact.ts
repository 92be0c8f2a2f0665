import { printable } from './listing.js';

/**
 * Replaces every known secret value with [REDACTED]. Every line that leaves
 * the process (console, run log, journal, report, notifications, the error
 * printed at exit) goes through one instance: `processRedactor`.
 *
 * A secret can reach a sink in another form than the one it was added in: a
 * JSON sink (run log, journal line, webhook body) escapes `"`, `\` and
 * newlines; a shell command quotes `'`; an error message keeps only the first
 * line of a multi-line value; a text listing escapes control characters
 * (`printable`), and a Markdown table cell also its `|`; a web page escapes
 * `&`, `<`, `>`, `"` and `'` (as src/web/html.ts does), and a link encodes it
 * as a URL component. Each of those forms is matched too.
 */
export class Redactor {
  private readonly values = new Set<string>();
  private sorted: string[] | undefined;

  add(value: string | undefined): void {
    // Very short values would blank out ordinary words; refusing them is the safer failure.
    if (!value || value.length < 3) return;
    for (const form of formsOf(value)) if (form.length >= 3) this.values.add(form);
    this.sorted = undefined;
  }

  apply(text: string): string {
    if (this.values.size === 0) return text;
    this.sorted ??= [...this.values].sort((a, b) => b.length - a.length);
    let out = text;
    for (const value of this.sorted) if (out.includes(value)) out = out.split(value).join('[REDACTED]');
    return out;
  }

  /** Redacts every string inside a JSON-shaped value (a journal record, a webhook body). */
  applyDeep<T>(value: T): T {
    if (this.values.size === 0) return value;
    if (typeof value === 'string') return this.apply(value) as T;
    if (Array.isArray(value)) return value.map((v: unknown) => this.applyDeep(v)) as T;
    if (value && typeof value === 'object') {
      return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, this.applyDeep(v)])) as T;
    }
    return value;
  }
}

const HTML_ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** A text as an HTML page shows it: the escapes of src/web/html.ts (log/ imports nothing of web/). */
export function htmlEscaped(text: string): string {
  return text.replace(/[&<>"']/g, (c) => HTML_ESCAPES[c]!);
}

/** The secret in every form a sink may print it: as written, and each of those forms HTML-escaped. */
function formsOf(value: string): string[] {
  const plain = plainForms(value);
  let url = value;
  try {
    url = encodeURIComponent(value);
  } catch {
    // A lone surrogate has no URL form: nothing could print one.
  }
  return [...plain, ...plain.map(htmlEscaped), url];
}

/** The secret as written, JSON-escaped (once and twice), shell-quoted, as listings show it, and each of its lines. */
function plainForms(value: string): string[] {
  const json = JSON.stringify(value).slice(1, -1);
  const jsonTwice = JSON.stringify(json).slice(1, -1);
  const shell = value.replaceAll("'", `'\\''`);
  const listed = printable(value);
  const lines = value.split(/\r?\n/).map((line) => line.trim());
  return [
    value,
    json,
    jsonTwice,
    shell,
    listed,
    listed.replaceAll('|', '\\|'),
    ...lines,
    ...lines.map((line) => JSON.stringify(line).slice(1, -1)),
  ];
}

/** The one redactor of this process: secrets are added as they are loaded, every sink applies it. */
export const processRedactor = new Redactor();
