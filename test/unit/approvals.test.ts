// Approvals as data: the dashboard's signature (made, verified, refused when written by hand or changed), the
// binding to one commit, expiry, a used approval, who may start and who may approve, a schedule's standing
// approval void once its entry changes, and an emergency's review until signed.
import { describe, expect, it } from 'vitest';
import { durationMs } from '../../src/config/schema-approvals.js';
import {
  judgeApproval,
  mayApprove,
  requestState,
  standingFor,
  unsignedReviews,
} from '../../src/gates/approval-gate.js';
import { keyPath, parseApprovalFiles, recordPath } from '../../src/gates/approval-store.js';
import {
  type Approval,
  type ApprovalRecords,
  entryHash,
  keyId,
  NO_RECORDS,
  newSigningKey,
  sign,
  verify,
} from '../../src/gates/approvals.js';

const key = newSigningKey();
const other = newSigningKey();
const C1 = '1'.repeat(40);
const C2 = '2'.repeat(40);
const NOW = new Date('2026-12-07T12:00:00Z');
const request = {
  id: 'a-00000001',
  env: 'prod',
  version: 'v1.2.0',
  commit: C1,
  requester: 'ana',
  requestedAt: '2026-12-07T11:00:00.000Z',
};

function approval(fields: Partial<Approval> = {}, by = key): Approval {
  return sign(
    {
      request: request.id,
      env: 'prod',
      version: 'v1.2.0',
      commit: C1,
      requester: 'ana',
      approver: 'web:bo',
      approvedAt: '2026-12-07T11:30:00.000Z',
      expiresAt: '2026-12-07T15:30:00.000Z',
      ...fields,
    },
    by,
  );
}

function records(more: Partial<ApprovalRecords> = {}): ApprovalRecords {
  return { ...NO_RECORDS, requests: [request], keys: new Map([[key.id, key.publicPem]]), ...more };
}

describe('the dashboard signature', () => {
  it('verifies a record the dashboard signed with a published key', () => {
    expect(verify(approval(), new Map([[key.id, key.publicPem]]))).toBe(true);
    expect(key.id).toBe(keyId(key.publicPem));
  });

  it('refuses a record without a signature, with a changed field, or by a key not published', () => {
    const { key: _k, signature: _s, ...bare } = approval();
    const keys = new Map([[key.id, key.publicPem]]);
    expect(verify(bare, keys)).toBe(false);
    expect(verify({ ...approval(), commit: C2 }, keys)).toBe(false);
    expect(verify({ ...approval(), expiresAt: '2030-01-01T00:00:00.000Z' }, keys)).toBe(false);
    expect(verify(approval({}, other), keys)).toBe(false);
    // A key published under another key's id does not verify either.
    expect(verify(approval({}, other), new Map([[key.id, other.publicPem]]))).toBe(false);
  });
});

describe('the approvals gate', () => {
  it('with approvals.required 2: one approval releases nothing, two by two people do, named both', () => {
    const bo = approval();
    const boAgain = approval({ approvedAt: '2026-12-07T11:40:00.000Z' });
    const cy = approval({ approver: 'web:cy' });
    const byAna = approval({ approver: 'api:ana' });
    const one = judgeApproval(records({ approvals: [bo, boAgain, byAna] }), 'prod', C1, 'ana', NOW, 2);
    expect(one.approval).toBeUndefined();
    expect(one.refused).toContain(`approval of ${request.id}: 1 of the 2 approvals it needs so far`);
    expect(one.refused).toContain(`approval of ${request.id}: it is by who asked: refused`);
    expect(requestState(records({ approvals: [bo, byAna] }), request, NOW, 2)).toMatchObject({
      state: 'pending',
      approvers: ['bo'],
    });
    const two = judgeApproval(records({ approvals: [bo, cy] }), 'prod', C1, 'cy', NOW, 2);
    expect(two.approval?.request).toBe(request.id);
    expect(two.approvers).toEqual(['bo', 'cy']);
    expect(requestState(records({ approvals: [bo, cy] }), request, NOW, 2).state).toBe('approved');
    const stranger = judgeApproval(records({ approvals: [bo, cy] }), 'prod', C1, 'dee', NOW, 2);
    expect(stranger.refused).toContain(
      `approval of ${request.id}: only ana (who asked) or bo, cy (who approved) may start it`,
    );
  });

  it('releases the approved commit for the requester or the approver', () => {
    expect(judgeApproval(records({ approvals: [approval()] }), 'prod', C1, 'ana', NOW).approval?.request).toBe(
      request.id,
    );
    expect(judgeApproval(records({ approvals: [approval()] }), 'prod', C1, 'web:bo', NOW).approval).toBeDefined();
    const stranger = judgeApproval(records({ approvals: [approval()] }), 'prod', C1, 'cy', NOW);
    expect(stranger.approval).toBeUndefined();
    expect(stranger.refused[0]).toMatch(/only ana \(who asked\) or bo \(who approved\)/);
  });

  it('does not release another commit, nor another environment', () => {
    const other = judgeApproval(records({ approvals: [approval()] }), 'prod', C2, 'ana', NOW);
    expect(other.approval).toBeUndefined();
    expect(other.refused[0]).toMatch(/is for commit 111111111111 \(v1\.2\.0\), not this one/);
    expect(judgeApproval(records({ approvals: [approval()] }), 'pre', C1, 'ana', NOW).approval).toBeUndefined();
  });

  it('releases nothing once expired or used', () => {
    const late = judgeApproval(records({ approvals: [approval()] }), 'prod', C1, 'ana', new Date('2026-12-07T16:00Z'));
    expect(late.approval).toBeUndefined();
    expect(late.refused[0]).toMatch(/expired at 2026-12-07T15:30:00.000Z/);
    const used = [{ request: request.id, run: 'r1', by: 'ana', at: NOW.toISOString() }];
    const again = judgeApproval(records({ approvals: [approval()], used }), 'prod', C1, 'ana', NOW);
    expect(again.refused[0]).toMatch(/already used/);
    expect(requestState(records({ approvals: [approval()], used }), request, NOW).state).toBe('used');
  });

  it('refuses a hand-written approval and one that matches no request', () => {
    const { key: _k, signature: _s, ...bare } = approval();
    const forged = { ...bare, key: key.id, signature: 'AAAA' };
    const judged = judgeApproval(records({ approvals: [forged] }), 'prod', C1, 'ana', NOW);
    expect(judged.approval).toBeUndefined();
    expect(judged.refused[0]).toMatch(/signature is missing or not by a dashboard key/);
    expect(requestState(records({ approvals: [forged] }), request, NOW).state).toBe('pending');
    const orphan = judgeApproval(records({ requests: [], approvals: [approval()] }), 'prod', C1, 'ana', NOW);
    expect(orphan.refused[0]).toMatch(/matches no request/);
  });

  it('counts users and members of groups among those who may approve', () => {
    const groups = { ops: ['bo', 'cy'] };
    expect(mayApprove('web:bo', ['ops'], groups)).toBe(true);
    expect(mayApprove('api:dee', ['ops', 'dee'], groups)).toBe(true);
    expect(mayApprove('web:ana', ['ops'], groups)).toBe(false);
  });

  it('keeps a standing approval while the schedule entry is unchanged', () => {
    const entry = { name: 'prod-weekly', env: 'prod', cron: '0 17 * * 2', version: 'latest' };
    const fields = { schedule: entry.name, env: 'prod', entryHash: entryHash(entry), approver: 'web:bo' };
    const standing = sign({ ...fields, approvedAt: NOW.toISOString() }, key);
    const r = records({ standing: [standing] });
    expect(standingFor(r, 'prod-weekly', entryHash(entry))?.approver).toBe('web:bo');
    expect(standingFor(r, 'prod-weekly', entryHash({ ...entry, version: '^2' }))).toBeUndefined();
    expect(standingFor(records({ standing: [{ ...standing, signature: '' }] }), 'prod-weekly', fields.entryHash)).toBe(
      undefined,
    );
  });

  it('shows an emergency review until a signed sign-off names it', () => {
    const review = {
      id: 'r-1',
      run: 'run1',
      env: 'prod',
      version: 'v9',
      commit: C1,
      deployer: 'ana',
      reason: 'x',
      at: '',
    };
    expect(unsignedReviews(records({ reviews: [review] }))).toHaveLength(1);
    const unsigned = { review: 'r-1', signer: 'bo', at: NOW.toISOString(), key: key.id, signature: 'AAAA' };
    expect(unsignedReviews(records({ reviews: [review], signOffs: [unsigned] }))).toHaveLength(1);
    const signed = sign({ review: 'r-1', signer: 'bo', at: NOW.toISOString() }, key);
    expect(unsignedReviews(records({ reviews: [review], signOffs: [signed] }))).toHaveLength(0);
  });
});

describe('the approvals ref', () => {
  it('reads records and keys, and names a malformed file or a key under another id', () => {
    const files = new Map([
      [recordPath('requests', request.id), JSON.stringify(request)],
      [recordPath('approvals', request.id), JSON.stringify(approval())],
      [recordPath('approvals', 'broken'), '{"request":'],
      [keyPath(key.id), key.publicPem],
      [keyPath('ffffffffffffffff'), other.publicPem],
    ]);
    const read = parseApprovalFiles(files);
    expect(read.requests).toHaveLength(1);
    expect(read.approvals).toHaveLength(1);
    expect([...read.keys.keys()]).toEqual([key.id]);
    expect(read.malformed).toHaveLength(2);
  });

  it('reads expiresAfter as a duration', () => {
    expect(durationMs('4h')).toBe(4 * 3_600_000);
    expect(durationMs('30m')).toBe(1_800_000);
    expect(() => durationMs('4 hours')).toThrow(/not a duration/);
  });
});
