import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { RelinkError } from '../errors.js';
import { runLocal } from './local.js';

export interface RunKey {
  /** `ssh-ed25519 AAAA... comment`. */
  readonly publicKey: string;
  /** OpenSSH's private key file, unencrypted: it lives as long as the run, in memory and on the senders. */
  readonly privateKey: string;
}

/**
 * A fresh ed25519 key pair for one run, made by ssh-keygen in a temp dir
 * of mode 0700 that is removed as soon as both halves are read, whether or
 * not ssh-keygen succeeded. Nothing of it is logged.
 */
export async function makeRunKey(comment: string): Promise<RunKey> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'relink-key-'));
  try {
    const file = path.join(dir, 'id_ed25519');
    const result = await runLocal('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', comment, '-f', file], {
      timeoutMs: 30_000,
    });
    if (result.code !== 0) {
      throw new RelinkError(`cannot make the relay key of this run: ssh-keygen exited ${result.code}`, {
        hint: "install OpenSSH's client tools (ssh-keygen) on this machine, or use rollout.fanout.mode 'push'",
      });
    }
    return { publicKey: fs.readFileSync(`${file}.pub`, 'utf8').trim(), privateKey: fs.readFileSync(file, 'utf8') };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
