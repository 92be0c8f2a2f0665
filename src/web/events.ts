// A run as server-sent events: every line after the `from`-th (or after Last-Event-ID), then `end`. At
// most 10 streams per user or token and 100 in all (limits.ts); each is read as fast as its client
// reads it (a stream that is not read holds one event, not the whole run), and all streams of a run
// share one tail of its log (tail.ts).
import type { App, AppDeps, Ctx } from './http.js';

const encoder = new TextEncoder();
const PING_MS = 15_000;

export function registerEvents(app: App, deps: AppDeps): void {
  const { source, streams } = deps;

  const events = (c: Ctx) => {
    const id = c.req.param('run') ?? '';
    if (!source.runs.get(id)) return c.notFound();
    const who = c.get('who');
    const slot = streams.take(`${who.kind} ${who.name}`);
    if ('refused' in slot) {
      return c.json({ error: `${slot.refused}: close one first` }, 429, { 'retry-after': '10' });
    }
    const skip = Number(c.req.header('last-event-id') ?? c.req.query('from') ?? 0) || 0;
    const abort = new AbortController();
    const client = c.req.raw.signal;
    const items = source.runs.follow(id, abort.signal)[Symbol.asyncIterator]();
    let ping: NodeJS.Timeout | undefined;
    let n = 0;
    const finish = () => {
      clearInterval(ping);
      client.removeEventListener('abort', finish);
      abort.abort();
      slot.release();
      // A follower paused between two lines ends here (one waiting for a line ends with the abort).
      items.return?.(undefined).catch(() => undefined);
    };
    client.addEventListener('abort', finish, { once: true });
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(encoder.encode('retry: 2000\n\n'));
        ping = setInterval(() => {
          try {
            if ((controller.desiredSize ?? 0) > 0) controller.enqueue(encoder.encode(': ping\n\n'));
          } catch {
            finish();
          }
        }, PING_MS);
      },
      async pull(controller) {
        const send = (text: string) => controller.enqueue(encoder.encode(text));
        try {
          for (;;) {
            const next = await items.next();
            if (abort.signal.aborted) return;
            if (next.done) {
              finish();
              controller.close();
              return;
            }
            const item = next.value;
            if ('end' in item) return send(`event: end\ndata: ${JSON.stringify(item)}\n\n`);
            if (++n > skip) return send(`id: ${n}\nevent: line\ndata: ${JSON.stringify(item)}\n\n`);
          }
        } catch (error) {
          finish();
          controller.error(error);
        }
      },
      cancel: finish,
    });
    return new Response(stream, {
      headers: { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-store' },
    });
  };
  app.get('/runs/:run/events', events);
  app.get('/api/runs/:run/events', events);

  // What the dashboard holds open now: event streams, and the run logs it tails for them.
  app.get('/api/streams', (c) =>
    c.json({ streams: streams.streams, tails: source.runs.tailCount?.() ?? 0, limits: streams.limits }),
  );
}
