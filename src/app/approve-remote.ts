// `deploy approve <id> --server <url>`: the approval is the dashboard's to sign, so the CLI asks its API, with a
// token, as the token's user.
import { RelinkError, UsageError } from '../errors.js';
import { callApi } from '../transport/http.js';
import { approvedJson, assertShape, type JsonOf } from './shapes.js';

export async function approveRemote(o: {
  server: string;
  token: string | undefined;
  id: string;
  deploy?: boolean;
}): Promise<JsonOf<typeof approvedJson>> {
  if (!o.token)
    throw new UsageError('an approval needs an API token of the dashboard', {
      hint: 'set RELINK_TOKEN (deploy serve --add-token NAME on the dashboard machine makes one) or pass --token',
    });
  let base: URL;
  try {
    base = new URL(o.server);
  } catch {
    throw new UsageError(`--server ${o.server} is not a URL`, { hint: 'e.g. --server https://deploy.example.com' });
  }
  const url = new URL(`/api/approvals/${encodeURIComponent(o.id)}/approve`, base).toString();
  const answer = await callApi(url, o.token, { deploy: Boolean(o.deploy) }, 60_000).catch((error: unknown) => {
    throw new RelinkError(`cannot reach ${base.origin}: ${(error as Error).message}`);
  });
  let body: Record<string, unknown>;
  try {
    body = JSON.parse(answer.body) as Record<string, unknown>;
  } catch {
    throw new RelinkError(`${base.origin} answered ${answer.status} without JSON`);
  }
  if (answer.status >= 300) {
    const exitCode = typeof body.exitCode === 'number' ? body.exitCode : answer.status === 403 ? 3 : 1;
    const hint = typeof body.hint === 'string' ? body.hint : undefined;
    throw new RelinkError(String(body.error ?? `answered ${answer.status}`), {
      exitCode: exitCode as 1,
      ...(hint ? { hint } : {}),
    });
  }
  assertShape(approvedJson, body);
  return body as JsonOf<typeof approvedJson>;
}
