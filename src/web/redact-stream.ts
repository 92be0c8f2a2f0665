// The redactor on a streamed answer (server-sent events). A chunk may end inside a secret or inside a
// UTF-8 character, so the stream is cut at line ends and each whole line is redacted as one text.
import { processRedactor } from '../log/redact.js';

/** The body with every known secret redacted, line by line; a last line without its newline at the end. */
export function redactLines(body: ReadableStream<Uint8Array>): ReadableStream<Uint8Array> {
  const decoder = new TextDecoder();
  const encoder = new TextEncoder();
  let rest = '';
  const emit = (text: string, out: TransformStreamDefaultController<Uint8Array>) => {
    if (text) out.enqueue(encoder.encode(processRedactor.apply(text)));
  };
  return body.pipeThrough(
    new TransformStream<Uint8Array, Uint8Array>({
      transform(chunk, out) {
        const text = rest + decoder.decode(chunk, { stream: true });
        const end = text.lastIndexOf('\n') + 1;
        rest = text.slice(end);
        emit(text.slice(0, end), out);
      },
      flush(out) {
        emit(rest + decoder.decode(), out);
      },
    }),
  );
}
