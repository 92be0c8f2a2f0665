// What every text listing (history, releases, status, lock status, stats, poison, logs, doctor) prints
// values from users and nodes through: one escape, and columns as wide as their widest cell.

/**
 * Characters that would break a row or take over the terminal: C0 controls, DEL, C1 controls
 * (ESC starts a cursor or colour sequence), and the line separators and bidirectional overrides
 * that reorder or split what is shown.
 */
const UNSAFE = /[\p{Cc}\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/gu;
const NAMED: Readonly<Record<string, string>> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };

/**
 * A value from a user or a node (an author, a message, a reason, a line of a log) as one line of
 * text that shows every character: a newline becomes `\n`, a tab `\t`, ESC `\x1b`, a
 * right-to-left override `\u{202e}`. The exact value is in the command's `--json`.
 */
export function printable(value: string | number | undefined | null, options: { tabs?: boolean } = {}): string {
  if (value === undefined || value === null) return '';
  return String(value).replace(UNSAFE, (c) => {
    if (c === '\t' && options.tabs) return c;
    const named = NAMED[c];
    if (named) return named;
    const code = c.codePointAt(0)!;
    return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u{${code.toString(16)}}`;
  });
}

/** An SGR (colour and style) sequence once its first character is ESC: `[`, numbers separated by `;` or `:`, `m`. */
const SGR = /\p{Cc}\[[0-9;:]*m/gu;
const ESC = String.fromCharCode(27);

/** The line as text and SGR sequences, alternating: text first and last (maybe empty). */
function sgrParts(line: string): string[] {
  const parts: string[] = [];
  let last = 0;
  for (const m of line.matchAll(SGR)) {
    if (m[0][0] !== ESC) continue;
    parts.push(line.slice(last, m.index), m[0]);
    last = m.index + m[0].length;
  }
  parts.push(line.slice(last));
  return parts;
}

/**
 * A line of an app's log for a terminal: with `colour`, its SGR colour sequences pass (and a reset
 * follows the line, so no colour leaks into the next); without, they are removed. Every other control
 * character is escaped as `printable` does, so a node can never move the cursor or clear the screen.
 */
export function printableLog(line: string, colour: boolean): string {
  const parts = sgrParts(line);
  if (!colour) return printable(parts.filter((_, i) => i % 2 === 0).join(''), { tabs: true });
  const out = parts.map((part, i) => (i % 2 === 1 ? part : printable(part, { tabs: true }))).join('');
  return parts.length > 1 ? `${out}${ESC}[0m` : out;
}

/** Whether `--color auto|always|never` means colour: auto is on for a terminal unless NO_COLOR is set. */
export function colourOn(choice: 'auto' | 'always' | 'never', isTTY: boolean | undefined): boolean {
  if (choice === 'auto') return Boolean(isTTY) && !process.env.NO_COLOR;
  return choice === 'always';
}

/** East Asian wide and fullwidth letters and emoji take two columns of a terminal. */
const WIDE = new RegExp(
  '^(?:[\u1100-\u115f\u2e80-\u303e\u3041-\u33ff\u3400-\u4dbf\u4e00-\u9fff\ua000-\ua4cf\uac00-\ud7a3' +
    '\uf900-\ufaff\ufe30-\ufe4f\uff00-\uff60\uffe0-\uffe6\u{20000}-\u{3fffd}]|\\p{Emoji_Presentation})',
  'u',
);
const segmenter = new Intl.Segmenter(undefined, { granularity: 'grapheme' });

/** How many terminal columns a printable text takes: one per character, two for wide ones. */
export function displayWidth(text: string): number {
  let width = 0;
  for (const { segment } of segmenter.segment(text)) width += WIDE.test(segment) ? 2 : 1;
  return width;
}

export type Align = 'left' | 'right';

/** Pads a printable text with spaces to `width` columns (never cuts it). */
export function pad(text: string, width: number, align: Align = 'left'): string {
  const fill = ' '.repeat(Math.max(0, width - displayWidth(text)));
  return align === 'right' ? fill + text : text + fill;
}

export interface TableOptions {
  /** Per column; left when not given. */
  readonly align?: readonly Align[];
  /** Between two columns; two spaces when not given. */
  readonly gap?: string;
  /** Put in front of every line. */
  readonly indent?: string;
}

/**
 * Rows of cells as lines of text: every cell through `printable`, every column as wide as its
 * widest cell (nothing is cut), the last column not padded. Give the header as the first row. The
 * last cell of a row shorter than the others (`node  UNREACHABLE: why`) runs on without widening
 * the column it starts in.
 */
export function table(
  rows: readonly (readonly (string | number | undefined)[])[],
  options: TableOptions = {},
): string[] {
  const cells = rows.map((row) => row.map((cell) => printable(cell)));
  const columns = Math.max(0, ...cells.map((row) => row.length));
  const counted = (row: readonly string[], i: number) => i < row.length - 1 || row.length === columns;
  const widths = Array.from({ length: columns }, (_, i) =>
    Math.max(0, ...cells.map((row) => (counted(row, i) ? displayWidth(row[i] ?? '') : 0))),
  );
  const gap = options.gap ?? '  ';
  return cells.map((row) => {
    const last = row.length - 1;
    const text = row
      .map((cell, i) =>
        i === last && options.align?.[i] !== 'right' ? cell : pad(cell, widths[i]!, options.align?.[i]),
      )
      .join(gap);
    return `${options.indent ?? ''}${text}`.trimEnd();
  });
}

/** A duration in milliseconds as `12.3s`; unknown is `-`. */
export const seconds = (ms: number | null): string => (ms === null ? '-' : `${(ms / 1000).toFixed(1)}s`);
