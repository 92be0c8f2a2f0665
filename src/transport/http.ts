import http from 'node:http';
import https from 'node:https';

/** The most of a smoke answer's body that is read and kept. */
const BODY_LIMIT = 64 * 1024;

/**
 * One HTTP GET from the deploy machine to a node, for smoke tests: redirects are answers (not followed),
 * certificates are verified, the body is read up to 64 KiB, and the whole request (connect, answer, body)
 * has one deadline. Through node:http rather than fetch, whose first use loads and compiles its whole
 * client (about 50 ms of CPU per run).
 */
export function httpGet(url: string, timeoutMs: number): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const target = new URL(url);
    const client = target.protocol === 'https:' ? https : target.protocol === 'http:' ? http : undefined;
    if (!client) return reject(new Error(`only http and https URLs can be checked, not ${target.protocol}`));
    const chunks: Buffer[] = [];
    let size = 0;
    const request = client.get(target, { signal: AbortSignal.timeout(timeoutMs) }, (response) => {
      const done = () => {
        request.destroy();
        resolve({
          status: response.statusCode ?? 0,
          body: Buffer.concat(chunks).toString('utf8').slice(0, BODY_LIMIT),
        });
      };
      response.on('data', (chunk: Buffer) => {
        chunks.push(chunk);
        size += chunk.length;
        if (size >= BODY_LIMIT) done();
      });
      response.on('end', done);
      response.on('error', reject);
    });
    request.on('error', (error: Error) =>
      reject(error.name === 'AbortError' ? new Error(`no answer within ${timeoutMs} ms`) : error),
    );
  });
}

/** POSTs a JSON body (webhook notifications); throws on a non-2xx answer or after the timeout. */
export async function postJson(url: string, body: object, timeoutMs: number): Promise<void> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(timeoutMs),
  });
  if (!response.ok) throw new Error(`answered ${response.status}`);
}

/** POSTs a JSON body to a relink dashboard's API with a token; the answer's status and body, whatever it is. */
export async function callApi(
  url: string,
  token: string,
  body: object,
  timeoutMs: number,
): Promise<{ status: number; body: string }> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(timeoutMs),
  });
  return { status: response.status, body: await response.text() };
}
