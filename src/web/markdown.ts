// The subset of Markdown that relink's own reports use (headings, tables, lists, code fences, `code`),
// rendered to escaped HTML. Anything else is shown as a paragraph of plain text.
import { esc, type Html, trusted } from './html.js';

function inline(text: string): string {
  return esc(text).replace(/`([^`]+)`/g, '<code>$1</code>');
}

function cells(row: string): string[] {
  const inner = row.trim().replace(/^\|/, '').replace(/\|$/, '');
  return inner.split(/(?<!\\)\|/).map((c) => c.trim().replaceAll('\\|', '|'));
}

export function renderMarkdown(text: string): Html {
  const out: string[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (line.startsWith('```')) {
      const body: string[] = [];
      while (++i < lines.length && !lines[i]!.startsWith('```')) body.push(lines[i]!);
      out.push(`<pre>${esc(body.join('\n'))}</pre>`);
    } else if (/^#{1,4} /.test(line)) {
      const level = Math.min(4, line.indexOf(' ') + 1);
      out.push(`<h${level}>${inline(line.slice(line.indexOf(' ') + 1))}</h${level}>`);
    } else if (line.startsWith('|')) {
      const rows: string[] = [];
      while (i < lines.length && lines[i]!.startsWith('|')) rows.push(lines[i++]!);
      i--;
      const [head, , ...body] = rows;
      const th = cells(head ?? '')
        .map((c) => `<th>${inline(c)}</th>`)
        .join('');
      const trs = body
        .map(
          (r) =>
            `<tr>${cells(r)
              .map((c) => `<td>${inline(c)}</td>`)
              .join('')}</tr>`,
        )
        .join('');
      out.push(`<table><thead><tr>${th}</tr></thead><tbody>${trs}</tbody></table>`);
    } else if (line.startsWith('- ')) {
      const items: string[] = [];
      while (i < lines.length && lines[i]!.startsWith('- ')) items.push(`<li>${inline(lines[i++]!.slice(2))}</li>`);
      i--;
      out.push(`<ul>${items.join('')}</ul>`);
    } else if (line.trim()) {
      out.push(`<p>${inline(line)}</p>`);
    }
  }
  return trusted(out.join('\n'));
}
