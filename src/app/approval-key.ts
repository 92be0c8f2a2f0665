// The dashboard's signing key: an Ed25519 key in relink's local state beside the users file (mode 0600), made
// on first use. Its public half is published on the approvals ref with every record it signs.
import fs from 'node:fs';
import path from 'node:path';
import crypto from 'node:crypto';
import { keyId, newSigningKey, type SigningKey } from '../gates/approvals.js';

export const KEY_FILE = 'approval-key.pem';

export function dashboardKey(dir: string): SigningKey {
  const file = path.join(dir, KEY_FILE);
  if (fs.existsSync(file)) {
    const privatePem = fs.readFileSync(file, 'utf8');
    const publicPem = crypto.createPublicKey(privatePem).export({ type: 'spki', format: 'pem' }).toString();
    return { id: keyId(publicPem), privatePem, publicPem };
  }
  const key = newSigningKey();
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const temp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(temp, key.privatePem, { mode: 0o600 });
  fs.renameSync(temp, file);
  return key;
}
