// Prometheus' HTTP API, asked from the deploy machine: one instant query (`/api/v1/query`) with a deadline.
// The answer is not trusted: it is read up to a size and checked against the API's documented shape.
import { z } from 'zod';

/** Where the queries go; the bearer token, when there is one, already read from its environment variable. */
export interface PrometheusServer {
  readonly url: string;
  readonly token?: string;
}

/** One instant query: its values, one per series (a scalar answer is one); NaN samples are left out. */
export type PrometheusQuery = (
  server: { readonly url: string; readonly tokenEnv?: string },
  promql: string,
  deadline: { readonly timeoutMs: number; readonly signal?: AbortSignal },
) => Promise<number[]>;

/** The most of an answer that is read. */
const ANSWER_LIMIT = 4 * 1024 * 1024;
/** The most series an answer may have. */
const SERIES_LIMIT = 10_000;

const sample = z.tuple([z.number(), z.string().max(64)]);
const answerSchema = z.discriminatedUnion('status', [
  z.object({
    status: z.literal('success'),
    data: z.discriminatedUnion('resultType', [
      z.object({
        resultType: z.literal('vector'),
        result: z.array(z.object({ metric: z.record(z.string(), z.string()), value: sample })).max(SERIES_LIMIT),
      }),
      z.object({ resultType: z.literal('scalar'), result: sample }),
    ]),
  }),
  z.object({ status: z.literal('error'), errorType: z.string().max(200), error: z.string().max(2000) }),
]);

/** Asks `server` for `promql` at this moment; throws with a readable reason on any problem. */
export async function instantQuery(
  server: PrometheusServer,
  promql: string,
  deadline: { readonly timeoutMs: number; readonly signal?: AbortSignal },
): Promise<number[]> {
  const url = new URL('api/v1/query', server.url.endsWith('/') ? server.url : `${server.url}/`);
  const { text, status } = await askApi('Prometheus', url, server.token, deadline, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ query: promql }),
  });
  return valuesOf(text, status, url.origin);
}

/**
 * One request to a monitoring API (`name`: Prometheus, Alertmanager) at `url`: within the deadline (and ended by
 * its signal), no redirect followed, the body read up to ANSWER_LIMIT. Throws a readable reason on any problem.
 */
export async function askApi(
  name: string,
  url: URL,
  token: string | undefined,
  deadline: { readonly timeoutMs: number; readonly signal?: AbortSignal },
  init: { method?: string; headers?: Record<string, string>; body?: URLSearchParams } = {},
): Promise<{ text: string; status: number }> {
  const timeout = AbortSignal.timeout(deadline.timeoutMs);
  const signal = deadline.signal ? AbortSignal.any([timeout, deadline.signal]) : timeout;
  try {
    const headers = { ...init.headers, ...(token ? { authorization: `Bearer ${token}` } : {}) };
    const response = await fetch(url, { ...init, headers, redirect: 'error', signal });
    return { status: response.status, text: await readLimited(response) };
  } catch (error) {
    if (timeout.aborted) throw new Error(`${name} at ${url.origin} did not answer within ${deadline.timeoutMs} ms`);
    if (deadline.signal?.aborted) throw error;
    const cause = (error as { cause?: { message?: string } }).cause?.message;
    throw new Error(`cannot reach ${name} at ${url.origin}: ${cause ?? (error as Error).message}`);
  }
}

/** The values of an answer's text (status: the HTTP status), or an error saying what is wrong with it. */
export function valuesOf(text: string, status: number, origin: string): number[] {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new Error(`Prometheus at ${origin} answered ${status} with something that is not its API's JSON`);
  }
  const checked = answerSchema.safeParse(json);
  if (!checked.success) throw new Error(`Prometheus at ${origin} answered ${status} in a shape it does not use`);
  const answer = checked.data;
  if (answer.status === 'error') throw new Error(`Prometheus refused the query (${answer.errorType}): ${answer.error}`);
  const samples = answer.data.resultType === 'scalar' ? [answer.data.result] : answer.data.result.map((s) => s.value);
  // Prometheus writes infinities as +Inf and -Inf.
  const number = (value: string) => Number(value.replace(/^([+-]?)Inf$/, '$1Infinity'));
  return samples.map(([, value]) => number(value)).filter((value) => !Number.isNaN(value));
}

/** The body of `response`, read up to ANSWER_LIMIT bytes (an error beyond). */
export async function readLimited(response: Response): Promise<string> {
  const reader = response.body?.getReader();
  if (!reader) return '';
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.length;
    if (size > ANSWER_LIMIT) {
      await reader.cancel();
      throw new Error(`an answer larger than ${ANSWER_LIMIT} bytes`);
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks).toString('utf8');
}
