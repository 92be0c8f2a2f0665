import http from 'node:http';

export interface LoadResult {
  requests: number;
  failures: number;
  /** Answers by the version they named. */
  versions: Record<string, number>;
  errors: string[];
  seconds: number;
  rate: number;
}

/**
 * A bounded load generator: `workers` loops of GET requests on fresh
 * connections (no keep-alive, so nothing is quietly retried) to the given URL,
 * paced to about `rate` requests per second in all, until stop() is called or
 * `maxSeconds` pass. Each loop waits for its answer before the next request, so
 * the loops are many: on a busy machine an answer takes tens of milliseconds,
 * and eight loops would fall below the rate the tests hold the run to.
 */
export function startLoad(
  url: string,
  rate = 250,
  workers = 24,
  maxSeconds = 120,
  /** What a good answer is, for an app that does not name its version (then counted under `ok`). */
  accept?: (status: number, body: string) => boolean,
) {
  const result: LoadResult = { requests: 0, failures: 0, versions: {}, errors: [], seconds: 0, rate: 0 };
  const started = Date.now();
  let running = true;
  const pause = (workers * 1000) / rate;
  const one = () =>
    new Promise<void>((resolve) => {
      const req = http.get(url, { agent: false, timeout: 5000 }, (res) => {
        let body = '';
        res.on('data', (d: Buffer) => (body += d.toString()));
        res.on('end', () => {
          result.requests++;
          const version = accept
            ? accept(res.statusCode ?? 0, body) && 'ok'
            : /from (v[\d.]+|bench-v[\d.]+)/.exec(body)?.[1];
          if ((!accept && res.statusCode !== 200) || !version) {
            result.failures++;
            if (result.errors.length < 20) result.errors.push(`${res.statusCode}: ${body.slice(0, 80)}`);
          } else result.versions[version] = (result.versions[version] ?? 0) + 1;
          resolve();
        });
      });
      req.on('timeout', () => req.destroy(new Error('timeout')));
      req.on('error', (error) => {
        result.requests++;
        result.failures++;
        if (result.errors.length < 20) result.errors.push(error.message);
        resolve();
      });
    });
  const loops = Array.from({ length: workers }, async (_, i) => {
    await new Promise((r) => setTimeout(r, (i * pause) / workers));
    while (running && Date.now() - started < maxSeconds * 1000) {
      const t = Date.now();
      await one();
      const wait = pause - (Date.now() - t);
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    }
  });
  return {
    async stop(): Promise<LoadResult> {
      running = false;
      await Promise.all(loops);
      result.seconds = (Date.now() - started) / 1000;
      result.rate = result.requests / result.seconds;
      return result;
    },
  };
}

/** One GET on a fresh connection (no keep-alive: a reload closing an idle connection is no lost request). */
function getOnce(port: number): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.get(`http://127.0.0.1:${port}/`, { agent: false, timeout: 3000 }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
  });
}

/**
 * Requests through the load balancer at `port`, a few loops at a time (unpaced), until stopped: every answer with
 * its status and body (whose release answered a 500), and every request that got none.
 */
export function collectAnswers(port: number, workers = 8) {
  const answers: { status: number; body: string }[] = [];
  const failures: string[] = [];
  let going = true;
  const one = async () => {
    while (going) {
      await getOnce(port).then(
        (answer) => answers.push(answer),
        (error: Error) => failures.push(error.message),
      );
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  };
  const loops = Array.from({ length: workers }, one);
  return {
    answers,
    failures,
    async stop() {
      going = false;
      await Promise.all(loops);
    },
  };
}
