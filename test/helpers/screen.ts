/**
 * A tiny terminal for tests: applies what a program wrote (text, CR, LF,
 * backspace, and the cursor-move and erase sequences of a live view) to a
 * buffer of lines without a height, so what was overwritten or erased is
 * gone and the rest is the scrollback plus the screen, as a person sees it.
 * Colours, cursor visibility, synchronized output and other sequences are
 * read and ignored.
 */
const ESC = String.fromCharCode(27);
const BEL = String.fromCharCode(7);
/** A CSI sequence (parameters, final byte), an OSC sequence, another escape, or one character. */
const TOKEN = new RegExp(
  `${ESC}\\[([?0-9;]*)([@-~])|${ESC}\\][^${BEL}${ESC}]*(?:${BEL}|${ESC}\\\\)|${ESC}[@-Z\\\\-_]|[\\s\\S]`,
  'gu',
);

export class Screen {
  private rows: string[] = [''];
  private row = 0;
  private col = 0;

  write(data: string): this {
    const tokens = data.matchAll(TOKEN);
    for (const [token, params, final] of tokens) {
      if (final !== undefined) this.csi(params ?? '', final);
      else if (!token.startsWith(ESC)) this.char(token);
    }
    return this;
  }

  /** Every line, scrollback and screen, without trailing blanks. */
  lines(): string[] {
    const lines = this.rows.map((r) => r.trimEnd());
    while (lines.length && lines.at(-1) === '') lines.pop();
    return lines;
  }

  /** The last line that is not blank: what is printed last on the screen. */
  lastLine(): string | undefined {
    return this.lines().at(-1);
  }

  private line(): string {
    while (this.rows.length <= this.row) this.rows.push('');
    return this.rows[this.row]!;
  }

  private set(text: string): void {
    this.line();
    this.rows[this.row] = text;
  }

  private char(c: string): void {
    if (c === '\r') this.col = 0;
    else if (c === '\n') {
      // As a pseudo-terminal delivers it (onlcr): a line feed also returns the carriage.
      this.row++;
      this.col = 0;
    } else if (c === '\b') this.col = Math.max(0, this.col - 1);
    else if (c === '\t') this.col = (Math.floor(this.col / 8) + 1) * 8;
    else if (c >= ' ') {
      const line = this.line().padEnd(this.col);
      this.set(line.slice(0, this.col) + c + line.slice(this.col + 1));
      this.col++;
    }
  }

  private csi(params: string, final: string): void {
    if (params.startsWith('?')) return;
    const n = params === '' ? undefined : Number(params.split(';')[0]);
    const by = n || 1;
    if (final === 'A') this.row = Math.max(0, this.row - by);
    else if (final === 'B' || final === 'E') this.row += by;
    else if (final === 'F') this.row = Math.max(0, this.row - by);
    else if (final === 'C') this.col += by;
    else if (final === 'D') this.col = Math.max(0, this.col - by);
    else if (final === 'G') this.col = by - 1;
    if (final === 'E' || final === 'F') this.col = 0;
    if (final === 'K') this.eraseLine(n ?? 0);
    if (final === 'J') this.eraseDisplay(n ?? 0);
  }

  private eraseLine(mode: number): void {
    const line = this.line();
    if (mode === 0) this.set(line.slice(0, this.col));
    else if (mode === 1) this.set(' '.repeat(this.col + 1) + line.slice(this.col + 1));
    else this.set('');
  }

  private eraseDisplay(mode: number): void {
    if (mode === 2 || mode === 3) {
      this.rows = this.rows.map(() => '');
      return;
    }
    if (mode === 1) {
      for (let r = 0; r < this.row; r++) this.rows[r] = '';
      this.eraseLine(1);
      return;
    }
    this.eraseLine(0);
    this.rows.length = Math.min(this.rows.length, this.row + 1);
  }
}
