/**
 * Cuts streamed text into lines: a line is handed on when its newline arrives, so a line whose text comes
 * in several chunks is one line, never two; `end()` hands on the last one when the stream ended without a
 * newline. A carriage return before the newline (CRLF) is dropped.
 */
export class LineSplitter {
  private partial = '';

  constructor(private readonly onLine: (line: string) => void) {}

  push(chunk: string): void {
    const lines = (this.partial + chunk).split('\n');
    this.partial = lines.pop() ?? '';
    for (const line of lines) this.onLine(line.endsWith('\r') ? line.slice(0, -1) : line);
  }

  end(): void {
    const last = this.partial;
    this.partial = '';
    if (last) this.onLine(last.endsWith('\r') ? last.slice(0, -1) : last);
  }
}
