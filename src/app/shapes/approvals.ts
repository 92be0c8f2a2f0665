// The approvals' `--json` shapes and API answers: a request, an approval, the list the dashboard shows.
import { z } from 'zod';
import { d, iso, opt, str } from './common.js';

export const approvalRequestJson = z.strictObject({
  id: d(str, 'request id, e.g. `a-1f2e3d4c`'),
  env: str,
  version: str,
  commit: d(str, 'the commit the request (and its approval) is bound to'),
  requester: str,
  requestedAt: iso,
});

const signed = {
  key: d(str, "id of the dashboard's public key (keys/<id>.pem on refs/relink/approvals)"),
  signature: d(str, "Ed25519 signature by the dashboard's key, base64"),
};

export const approvalJson = z.strictObject({
  request: str,
  env: str,
  version: str,
  commit: str,
  requester: str,
  approver: str,
  approvedAt: iso,
  expiresAt: d(iso, 'after this it releases nothing (approvals.expiresAfter)'),
  ...signed,
});

export const signOffJson = z.strictObject({ review: str, signer: str, at: iso, ...signed });

export const standingJson = z.strictObject({
  schedule: str,
  env: str,
  entryHash: d(str, 'sha256 of the schedule entry: void once the entry changes'),
  approver: str,
  approvedAt: iso,
  ...signed,
});

export const reviewJson = z.strictObject({
  id: str,
  run: str,
  env: str,
  version: str,
  commit: str,
  deployer: str,
  reason: str,
  at: iso,
});

export const approvalsJson = z.strictObject({
  requests: z.array(
    approvalRequestJson.extend({
      state: d(z.enum(['pending', 'approved', 'expired', 'used']), '`used`: a deploy consumed its approval'),
      approver: opt(str, 'who approved it (a valid signed approval only)'),
      expiresAt: opt(iso, 'when its approval expires'),
    }),
  ),
  reviews: d(z.array(reviewJson), 'emergency releases whose review nobody signed yet'),
  schedules: z.array(
    z.strictObject({
      name: str,
      env: str,
      version: d(str, 'the version rule'),
      approver: opt(str, 'who gave the standing approval of the entry as written now'),
    }),
  ),
});

export const approvedJson = z.strictObject({
  approval: approvalJson,
  run: opt(str, 'the deploy started with "approve and deploy"'),
});

export type ApprovalsJson = z.output<typeof approvalsJson>;
