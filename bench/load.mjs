// Bounded load for the benchmark: `rate` requests/s of GET on fresh
// connections (no keep-alive, so nothing is quietly retried) through
// `workers` loops, until stop() is called or two minutes pass. A failure is
// said by kind: an answer other than 200 (by status), a connection error (by
// its code: ECONNREFUSED, ECONNRESET...), or no answer within 5 s (timeout).
import http from 'node:http';

export function startLoad(url, rate = 200, workers = 8) {
  const r = { requests: 0, failures: 0, kinds: {}, started: Date.now() };
  const failed = (kind) => {
    r.failures++;
    r.kinds[kind] = (r.kinds[kind] ?? 0) + 1;
  };
  let running = true;
  const pause = (workers * 1000) / rate;
  const one = () =>
    new Promise((resolve) => {
      const req = http.get(url, { agent: false, timeout: 5000 }, (res) => {
        res.resume();
        res.on('end', () => {
          r.requests++;
          if (res.statusCode !== 200) failed(`status ${res.statusCode}`);
          resolve();
        });
      });
      req.on('timeout', () => req.destroy(Object.assign(new Error('timeout'), { code: 'timeout' })));
      req.on('error', (error) => {
        r.requests++;
        failed(error.code ?? error.message);
        resolve();
      });
    });
  const loops = Array.from({ length: workers }, async () => {
    while (running && Date.now() - r.started < 120_000) {
      const t = Date.now();
      await one();
      const wait = pause - (Date.now() - t);
      if (wait > 0) await new Promise((res) => setTimeout(res, wait));
    }
  });
  return {
    async stop() {
      running = false;
      await Promise.all(loops);
      const seconds = (Date.now() - r.started) / 1000;
      return { requests: r.requests, failures: r.failures, kinds: r.kinds, rate: Math.round(r.requests / seconds) };
    },
  };
}
