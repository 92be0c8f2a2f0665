/** One HTTP GET from the deploy machine to a node, for smoke tests. */
export async function httpGet(url: string, timeoutMs: number): Promise<{ status: number; body: string }> {
  const response = await fetch(url, { signal: AbortSignal.timeout(timeoutMs), redirect: 'manual' });
  const body = await response.text();
  return { status: response.status, body: body.slice(0, 64 * 1024) };
}
