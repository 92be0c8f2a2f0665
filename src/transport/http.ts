/** One HTTP GET from the deploy machine to a node, for smoke tests. */
export async function httpGet(url: string, timeoutMs: number): Promise<{ status: number; body: string }> {
  const response = await fetch(url, { signal: AbortSignal.timeout(timeoutMs), redirect: 'manual' });
  const body = await response.text();
  return { status: response.status, body: body.slice(0, 64 * 1024) };
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
