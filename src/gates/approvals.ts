// Approvals, as data: requests, the approvals a dashboard signs with its Ed25519 key, standing approvals of a
// schedule, emergency reviews and their sign-offs. Pure: signing takes the key, judging takes the time.
import crypto from 'node:crypto';

export const APPROVALS_REF = 'refs/relink/approvals';

/** A deploy asked for (`deploy request`, the dashboard's deploy button): bound to one commit. */
export interface ApprovalRequest {
  readonly id: string;
  readonly env: string;
  readonly version: string;
  readonly commit: string;
  readonly requester: string;
  readonly requestedAt: string;
}

/** What a dashboard signs: the fields of an approval, a standing approval or a sign-off, and its key. */
export interface Signed {
  readonly key: string;
  readonly signature: string;
}

export interface Approval extends Signed {
  readonly request: string;
  readonly env: string;
  readonly version: string;
  readonly commit: string;
  readonly requester: string;
  readonly approver: string;
  readonly approvedAt: string;
  readonly expiresAt: string;
}

/** A schedule's standing approval: good while the entry hashes the same. */
export interface Standing extends Signed {
  readonly schedule: string;
  readonly env: string;
  readonly entryHash: string;
  readonly approver: string;
  readonly approvedAt: string;
}

/** An emergency release that went out without approval: a review after the fact. */
export interface Review {
  readonly id: string;
  readonly run: string;
  readonly env: string;
  readonly version: string;
  readonly commit: string;
  readonly deployer: string;
  readonly reason: string;
  readonly at: string;
}

export interface SignOff extends Signed {
  readonly review: string;
  readonly signer: string;
  readonly at: string;
}

/** An approval used by a deploy: it releases nothing more. */
export interface Used {
  readonly request: string;
  readonly run: string;
  readonly by: string;
  readonly at: string;
}

/** Everything on the approvals ref. */
export interface ApprovalRecords {
  readonly requests: ApprovalRequest[];
  readonly approvals: Approval[];
  readonly standing: Standing[];
  readonly reviews: Review[];
  readonly signOffs: SignOff[];
  readonly used: Used[];
  /** Public keys by key id (PEM, SPKI). */
  readonly keys: ReadonlyMap<string, string>;
}

export const NO_RECORDS: ApprovalRecords = {
  requests: [],
  approvals: [],
  standing: [],
  reviews: [],
  signOffs: [],
  used: [],
  keys: new Map(),
};

/** A name without its door (`web:ana`, `api:ana` and `ana` are one person). */
export function person(name: string): string {
  return name.replace(/^(web|api):/, '');
}

export function newId(prefix: string, seed: string): string {
  const hash = crypto.createHash('sha256').update(`${seed}\0${crypto.randomBytes(8).toString('hex')}`);
  return `${prefix}-${hash.digest('hex').slice(0, 8)}`;
}

/** The bytes a signature covers: every field but the signature, keys sorted. */
export function canonical(record: object): string {
  const fields = Object.entries(record)
    .filter(([k, v]) => k !== 'signature' && v !== undefined)
    .sort(([a], [b]) => a.localeCompare(b));
  return JSON.stringify(Object.fromEntries(fields));
}

/** The id of a public key: the first 16 hex digits of the sha256 of its DER. */
export function keyId(publicKeyPem: string): string {
  const der = crypto.createPublicKey(publicKeyPem).export({ type: 'spki', format: 'der' });
  return crypto.createHash('sha256').update(der).digest('hex').slice(0, 16);
}

export interface SigningKey {
  readonly id: string;
  readonly privatePem: string;
  readonly publicPem: string;
}

export function newSigningKey(): SigningKey {
  const { privateKey, publicKey } = pair();
  return { id: keyId(publicKey), privatePem: privateKey, publicPem: publicKey };
}

function pair() {
  return crypto.generateKeyPairSync('ed25519', {
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
    publicKeyEncoding: { type: 'spki', format: 'pem' },
  });
}

export function sign<T extends object>(fields: T, key: SigningKey): T & Signed {
  const withKey = { ...fields, key: key.id };
  const signature = crypto.sign(null, Buffer.from(canonical(withKey)), key.privatePem).toString('base64');
  return { ...withKey, signature };
}

/** Whether a record carries a valid signature by one of the published keys (and that key's id is its own). */
export function verify(record: Partial<Signed> & object, keys: ReadonlyMap<string, string>): boolean {
  if (typeof record.key !== 'string' || typeof record.signature !== 'string') return false;
  const pem = keys.get(record.key);
  if (!pem) return false;
  try {
    if (keyId(pem) !== record.key) return false;
    return crypto.verify(null, Buffer.from(canonical(record)), pem, Buffer.from(record.signature, 'base64'));
  } catch {
    return false;
  }
}

/** The hash a standing approval is bound to: the schedule entry as written, keys sorted. */
export function entryHash(entry: object): string {
  return crypto.createHash('sha256').update(canonical(entry)).digest('hex');
}
