// The load part of `npm run bench:serve`: `viewers` logged-in viewers (10 sessions per user) each reading
// a page, thinking `thinkMs` (0.5x to 1.5x at random), reading the next, and `streams` event streams (10
// per user, the most the dashboard allows) on one run that writes a line every 250 ms, for `seconds`.
// Reports the page latency (p50, p99, max, from request to last byte), errors (any answer but 200, any
// failed request, any stream that ended early), the p99 per page, and the server's peak RSS (VmHWM).
// The first 5 s, while 150 connections open at once and the server's code warms up, count for errors
// and memory but not for latency: the figures are of a dashboard in use, not of its first second.
import fs from 'node:fs';
import path from 'node:path';

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const quantile = (xs, q) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))] ?? 0;
};
const round = (x) => Math.round(x * 10) / 10;
const WARMUP_MS = 5000;

/** A session of `user`; a 429 or 503 (the login limit's "not now") is tried again after its Retry-After. */
async function login(url, user, password) {
  for (;;) {
    const answer = await fetch(`${url}/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ user, password }).toString(),
      redirect: 'manual',
    });
    if (answer.status === 303) return answer.headers.get('set-cookie').split(';')[0];
    if (answer.status !== 429 && answer.status !== 503) throw new Error(`login ${user}: ${answer.status}`);
    await sleep(1000 * Number(answer.headers.get('retry-after') ?? 1));
  }
}

/** A run of prod going on: its log is the newest, and the local lock names this (live) process. */
function liveRun(project) {
  const stamp = new Date().toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
  const id = `${stamp}-beef00`;
  const state = path.join(project, '.relink');
  const log = path.join(state, 'logs', `${id}.jsonl`);
  const line = (o) => `${JSON.stringify({ time: new Date().toISOString(), ...o })}\n`;
  fs.mkdirSync(path.dirname(log), { recursive: true });
  fs.writeFileSync(log, line({ kind: 'run', command: 'deploy prod v9.9.9', env: 'prod' }) + line({ phase: 'gates' }));
  const pidFile = path.join(state, 'deploy-prod.pid');
  fs.writeFileSync(pidFile, String(process.pid));
  let n = 0;
  const writer = setInterval(() => {
    fs.appendFileSync(log, line({ kind: 'step', step: 'rollout:relink', node: `node${(n++ % 10) + 1}`, status: 'ok' }));
  }, 250);
  return {
    id,
    stop() {
      clearInterval(writer);
      fs.rmSync(pidFile, { force: true });
      fs.rmSync(log, { force: true });
    },
  };
}

export async function serveLoad({ url, project, pid, users, password, viewers, streams, seconds, thinkMs }) {
  const cookies = [];
  for (let i = 0; i < viewers; i++) cookies.push(await login(url, users[i % users.length], password));
  const run = liveRun(project);
  // The logins took a while: read the nodes once now, so the load starts with the state cached (after
  // that the dashboard reads them again in the background while it serves the previous read).
  await (await fetch(`${url}/?refresh=1`, { headers: { cookie: cookies[0] } })).arrayBuffer();
  const stop = new AbortController();
  const latencies = [];
  const perPage = {};
  const measureFrom = performance.now() + WARMUP_MS;
  const errors = [];
  const held = { open: 0, events: 0 };
  try {
    const streamOne = async (cookie) => {
      try {
        const answer = await fetch(`${url}/runs/${run.id}/events`, { headers: { cookie }, signal: stop.signal });
        if (answer.status !== 200) return errors.push(`stream: ${answer.status} ${await answer.text()}`);
        held.open++;
        const decoder = new TextDecoder();
        for await (const chunk of answer.body)
          held.events += (decoder.decode(chunk).match(/event: line/g) ?? []).length;
        if (!stop.signal.aborted) errors.push('stream: ended before the bench did');
      } catch (error) {
        if (!stop.signal.aborted) errors.push(`stream: ${error.message}`);
      }
    };
    // Streams from the first users' sessions, 10 per user (the dashboard's limit).
    const streamCookies = Array.from(
      { length: streams },
      (_, i) => cookies[(i % 10) * users.length + Math.floor(i / 10)],
    );
    const streaming = streamCookies.map(streamOne);
    const pages = ['/', '/env/prod', '/stats', `/runs/${run.id}`, '/api/overview', '/gate'];
    const view = async (cookie, i) => {
      await sleep(Math.random() * thinkMs);
      for (let k = i; !stop.signal.aborted; k++) {
        const page = pages[k % pages.length];
        const t = performance.now();
        try {
          const answer = await fetch(`${url}${page}`, { headers: { cookie } });
          await answer.arrayBuffer();
          if (answer.status !== 200) errors.push(`${page}: ${answer.status}`);
          else if (t >= measureFrom) {
            const took = performance.now() - t;
            latencies.push(took);
            if (!perPage[page]) perPage[page] = [];
            perPage[page].push(took);
          }
        } catch (error) {
          errors.push(`${page}: ${error.message}`);
        }
        await sleep(thinkMs * (0.5 + Math.random()));
      }
    };
    const viewing = cookies.map(view);
    await sleep(WARMUP_MS + seconds * 1000);
    stop.abort();
    await Promise.all([...viewing, ...streaming]);
  } finally {
    run.stop();
  }
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  return {
    viewers,
    streams,
    streamsOpen: held.open,
    streamEvents: held.events,
    seconds,
    thinkMs,
    warmupSeconds: WARMUP_MS / 1000,
    requests: latencies.length,
    errors: errors.length,
    firstErrors: [...new Set(errors)].slice(0, 5),
    pageMs: {
      p50: round(quantile(latencies, 0.5)),
      p99: round(quantile(latencies, 0.99)),
      max: round(Math.max(...latencies)),
    },
    p99ByPage: Object.fromEntries(
      Object.entries(perPage).map(([page, xs]) => [page.replace(run.id, '<run>'), round(quantile(xs, 0.99))]),
    ),
    peakRssMb: Math.round(Number(/^VmHWM:\s+(\d+)/m.exec(status)[1]) / 1024),
  };
}
