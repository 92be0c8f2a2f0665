/**
 * The lines of a text around a position, numbered, the line itself marked with `>` and its column
 * with `^` below it, for an error that points into a file a person wrote:
 *
 *     5 |   - name: node2
 *     6 |     address: 127.0.0.1
 *   > 7 | - name: node3
 *       | ^
 *     8 |     address: 10.0.0.3
 *
 * Tabs show as one space and other control characters as `?`, so the marker stays under its column.
 */
export function excerpt(text: string, line: number, col: number, around = 2): string {
  const lines = text.split(/\r?\n/);
  if (lines.at(-1) === '') lines.pop();
  const at = Math.min(Math.max(line, 1), Math.max(lines.length, 1));
  const first = Math.max(1, at - around);
  const last = Math.min(lines.length, at + around);
  const width = String(last).length;
  const shown = (s: string) => s.replace(/\t/g, ' ').replace(/\p{Cc}/gu, '?');
  const out: string[] = [];
  for (let n = first; n <= last; n++) {
    const mark = n === at ? '>' : ' ';
    out.push(`${mark} ${String(n).padStart(width)} | ${shown(lines[n - 1] ?? '')}`.trimEnd());
    if (n === at) out.push(`  ${' '.repeat(width)} | ${' '.repeat(Math.max(col, 1) - 1)}^`);
  }
  return out.join('\n');
}
