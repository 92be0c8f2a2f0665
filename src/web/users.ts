/**
 * The dashboard's users and API tokens: a JSON file outside git (default `.relink/users.json` in the
 * project, mode 0600) with scrypt password hashes and sha256 token hashes. Nothing here is ever sent
 * to a browser.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { UsageError } from '../errors.js';

export const ROLES = ['viewer', 'deployer'] as const;
export type Role = (typeof ROLES)[number];

export interface UserEntry {
  readonly name: string;
  /** The role in every environment, or only in `envs` when given (a viewer elsewhere). */
  readonly role: Role;
  readonly envs?: readonly string[];
  /** `scrypt$N$r$p$salt$hash` (base64). Tokens: `sha256$hash`. */
  readonly hash: string;
  readonly created: string;
  /** Tokens: refused from this time on (ISO). A token made before tokens expired has none, and works on. */
  readonly expires?: string;
}

export interface UsersFile {
  readonly users: UserEntry[];
  readonly tokens: UserEntry[];
}

/** Who made a request: a person with a session, or a token. */
export interface Principal {
  readonly name: string;
  readonly kind: 'user' | 'token';
  readonly role: Role;
  readonly envs?: readonly string[];
}

const scrypt = promisify(crypto.scrypt) as (
  password: string,
  salt: Buffer,
  length: number,
  options: crypto.ScryptOptions,
) => Promise<Buffer>;
// 32 MiB and about 50-100 ms per hash: slow to guess, still fine for a login.
const COST = { N: 32768, r: 8, p: 1, maxmem: 64 * 1024 * 1024 };
export const MIN_PASSWORD = 10;

export async function hashPassword(password: string): Promise<string> {
  const salt = crypto.randomBytes(16);
  const hash = await scrypt(password, salt, 32, COST);
  return `scrypt$${COST.N}$${COST.r}$${COST.p}$${salt.toString('base64')}$${hash.toString('base64')}`;
}

export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const [kind, n, r, p, salt, hash] = stored.split('$');
  if (kind !== 'scrypt' || !salt || !hash) return false;
  const expected = Buffer.from(hash, 'base64');
  const options = { N: Number(n), r: Number(r), p: Number(p), maxmem: COST.maxmem };
  const got = await scrypt(password, Buffer.from(salt, 'base64'), expected.length, options);
  return got.length === expected.length && crypto.timingSafeEqual(got, expected);
}

/** A hash to compare against when the user does not exist, so the answer takes as long either way. */
const zeros = (n: number) => Buffer.alloc(n).toString('base64');
export const DUMMY_HASH = `scrypt$${COST.N}$${COST.r}$${COST.p}$${zeros(16)}$${zeros(32)}`;

export function newToken(): string {
  return `rlk_${crypto.randomBytes(24).toString('base64url')}`;
}

export function tokenHash(token: string): string {
  return `sha256$${crypto.createHash('sha256').update(token).digest('base64')}`;
}

export function findToken(file: UsersFile, token: string): UserEntry | undefined {
  const want = Buffer.from(tokenHash(token));
  return file.tokens.find((t) => {
    const have = Buffer.from(t.hash);
    return have.length === want.length && crypto.timingSafeEqual(have, want);
  });
}

/** Days an API token lasts unless `--expires-days` says otherwise. */
export const TOKEN_DAYS = 90;

/** Whether a token has passed its expiry (one without any never does). */
export function expired(entry: UserEntry, now: Date = new Date()): boolean {
  return entry.expires !== undefined && !(Date.parse(entry.expires) > now.getTime());
}

/** The role a principal has in one environment. */
export function roleIn(who: Principal, env: string): Role {
  if (who.role === 'deployer' && (!who.envs?.length || who.envs.includes(env))) return 'deployer';
  return 'viewer';
}

/** A deployer in every environment: may write poison and cure records, which gate every environment. */
export function deploysEverywhere(who: Principal): boolean {
  return who.role === 'deployer' && !who.envs?.length;
}

export function defaultUsersFile(root: string): string {
  return path.join(root, '.relink', 'users.json');
}

/**
 * Reads the users file; absent means nobody may log in. A file others can read is refused, as ssh
 * refuses such a private key: its hashes are worth guessing at.
 */
export function readUsers(file: string): UsersFile {
  if (!fs.existsSync(file)) return { users: [], tokens: [] };
  const mode = fs.statSync(file).mode & 0o777;
  if (mode & 0o077) {
    throw new UsageError(`${file} is readable by others (mode ${mode.toString(8)})`, { hint: `chmod 600 ${file}` });
  }
  try {
    const data = JSON.parse(fs.readFileSync(file, 'utf8')) as Partial<UsersFile>;
    return { users: [...(data.users ?? [])], tokens: [...(data.tokens ?? [])] };
  } catch (error) {
    throw new UsageError(`${file} is not valid JSON: ${(error as Error).message}`, {
      hint: 'fix it, or remove it and add the users again: deploy serve --add-user NAME --role viewer',
    });
  }
}

/** Writes the users file atomically with mode 0600 (its directory 0700 when relink creates it). */
export function writeUsers(file: string, data: UsersFile): void {
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  const temp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(temp, `${JSON.stringify(data, null, 2)}\n`, { mode: 0o600 });
  fs.chmodSync(temp, 0o600);
  fs.renameSync(temp, file);
}

export function checkName(name: string): string {
  if (!/^[a-z0-9][a-z0-9._-]{0,31}$/i.test(name)) {
    throw new UsageError(`"${name}" is not a valid name`, {
      hint: 'use 1-32 letters, digits, ".", "_" or "-", starting with a letter or digit',
    });
  }
  return name;
}

/** Replaces or adds an entry of that name. */
export function upsert(list: UserEntry[], entry: UserEntry): UserEntry[] {
  return [...list.filter((u) => u.name !== entry.name), entry].sort((a, b) => a.name.localeCompare(b.name));
}
