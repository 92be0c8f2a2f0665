// When each user last logged in and each API token was last used, for `deploy serve --list-users`. Kept
// beside the users file (users-seen.json), not in it: the server never rewrites the file people edit
// with --add-user, and a write at most once a minute per name costs nothing on a busy API.
import fs from 'node:fs';
import path from 'node:path';

export type SeenKind = 'user' | 'token';

/** `.relink/users.json` -> `.relink/users-seen.json`. */
export function seenFile(usersFile: string): string {
  const base = path.basename(usersFile).replace(/\.json$/, '');
  return path.join(path.dirname(usersFile), `${base}-seen.json`);
}

/** `{ "token:ci": "2026-12-01T10:00:00.000Z", ... }`; absent or unreadable is empty. */
export function readSeen(file: string): Record<string, string> {
  try {
    const data = JSON.parse(fs.readFileSync(file, 'utf8')) as unknown;
    if (!data || typeof data !== 'object' || Array.isArray(data)) return {};
    return Object.fromEntries(Object.entries(data).filter((e): e is [string, string] => typeof e[1] === 'string'));
  } catch {
    return {};
  }
}

export class LastUsed {
  private readonly written = new Map<string, number>();
  private warned = false;

  constructor(
    private readonly file: string,
    private readonly everyMs = 60_000,
    private readonly now: () => number = Date.now,
  ) {}

  /** Notes a use of `name`; the file is written when this name's last write is older than a minute. */
  used(kind: SeenKind, name: string): void {
    const key = `${kind}:${name}`;
    const t = this.now();
    if (t - (this.written.get(key) ?? Number.NEGATIVE_INFINITY) < this.everyMs) return;
    this.written.set(key, t);
    try {
      const data = { ...readSeen(this.file), [key]: new Date(t).toISOString() };
      const temp = `${this.file}.${process.pid}.tmp`;
      fs.writeFileSync(temp, `${JSON.stringify(data, null, 2)}\n`, { mode: 0o600 });
      fs.renameSync(temp, this.file);
    } catch (error) {
      if (!this.warned) process.stderr.write(`warning: cannot write ${this.file}: ${(error as Error).message}\n`);
      this.warned = true;
    }
  }
}
