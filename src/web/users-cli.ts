// `deploy serve --add-user | --remove-user | --add-token | --list-users`: the users file by hand.
import { UsageError } from '../errors.js';
import { readSeen, seenFile } from './seen.js';
import {
  checkName,
  expired,
  hashPassword,
  MIN_PASSWORD,
  newToken,
  ROLES,
  type Role,
  readUsers,
  TOKEN_DAYS,
  tokenHash,
  upsert,
  type UserEntry,
  writeUsers,
} from './users.js';

/** A password from a terminal (asked twice, not echoed) or the first line of stdin (scripts, CI). */
export async function readPassword(name: string): Promise<string> {
  const stdin = process.stdin;
  if (!stdin.isTTY) {
    const chunks: Buffer[] = [];
    for await (const chunk of stdin) chunks.push(chunk as Buffer);
    return (Buffer.concat(chunks).toString('utf8').split(/\r?\n/)[0] ?? '').trimEnd();
  }
  const first = await prompt(`password for ${name}: `);
  const again = await prompt('again: ');
  if (first !== again) throw new UsageError('the two passwords differ; nothing was changed');
  return first;
}

function prompt(question: string): Promise<string> {
  const stdin = process.stdin;
  process.stderr.write(question);
  stdin.setRawMode(true);
  stdin.resume();
  return new Promise((resolve, reject) => {
    let text = '';
    const done = (error?: Error) => {
      stdin.setRawMode(false);
      stdin.pause();
      stdin.off('data', onData);
      process.stderr.write('\n');
      if (error) reject(error);
      else resolve(text);
    };
    const onData = (data: Buffer) => {
      for (const ch of data.toString('utf8')) {
        if (ch === '\r' || ch === '\n') return done();
        if (ch === '\u0003') return done(new UsageError('cancelled; nothing was changed'));
        if (ch === '\u007f' || ch === '\b') text = text.slice(0, -1);
        else text += ch;
      }
    };
    stdin.on('data', onData);
  });
}

function checkRole(role: string | undefined): Role {
  if (!ROLES.includes(role as Role)) {
    throw new UsageError(`--role must be ${ROLES.join(' or ')}, not ${JSON.stringify(role ?? '')}`, {
      hint: 'viewer reads; deployer also deploys, rolls back, freezes and records poisons',
    });
  }
  return role as Role;
}

export interface UsersCommand {
  readonly file: string;
  readonly addUser?: string;
  readonly removeUser?: string;
  readonly addToken?: string;
  readonly listUsers?: boolean;
  readonly role?: string;
  readonly env?: readonly string[];
  /** With addToken: days until the token is refused (default 90). */
  readonly expiresDays?: string;
}

/** `--expires-days`: 1 to 3650 whole days, 90 when not given. */
function tokenDays(text: string | undefined): number {
  if (text === undefined) return TOKEN_DAYS;
  const days = /^\d+$/.test(text) ? Number(text) : Number.NaN;
  if (!(days >= 1 && days <= 3650)) {
    throw new UsageError(`--expires-days takes 1 to 3650 days, not ${JSON.stringify(text)}`, {
      hint: 'a token that never expires is a risk nobody remembers: make a new one when this one ends',
    });
  }
  return days;
}

/** Changes the users file as asked and says what it did; the password or token never reaches the screen twice. */
export async function usersCommand(o: UsersCommand): Promise<void> {
  const data = readUsers(o.file);
  const scope = o.env?.length ? { envs: [...o.env] } : {};
  const where = o.env?.length ? ` in ${o.env.join(', ')} (viewer elsewhere)` : '';
  if (o.addUser) {
    const name = checkName(o.addUser);
    const role = checkRole(o.role);
    const password = await readPassword(name);
    if (password.length < MIN_PASSWORD) {
      throw new UsageError(`the password must have at least ${MIN_PASSWORD} characters; nothing was changed`);
    }
    const entry: UserEntry = { name, role, ...scope, hash: await hashPassword(password), created: now() };
    writeUsers(o.file, { ...data, users: upsert(data.users, entry) });
    process.stdout.write(`${name}: ${role}${where}, in ${o.file}\n`);
  } else if (o.addToken) {
    const name = checkName(o.addToken);
    const role = checkRole(o.role);
    const days = tokenDays(o.expiresDays);
    const token = newToken();
    const expires = new Date(Date.now() + days * 86_400_000).toISOString();
    const entry: UserEntry = { name, role, ...scope, hash: tokenHash(token), created: now(), expires };
    writeUsers(o.file, { ...data, tokens: upsert(data.tokens, entry) });
    process.stderr.write(
      `API token ${name}: ${role}${where}, until ${expires.slice(0, 10)}; ` +
        "it is shown once, keep it in your CI's secrets:\n",
    );
    process.stdout.write(`${token}\n`);
  } else if (o.removeUser) {
    const name = o.removeUser;
    const users = data.users.filter((u) => u.name !== name);
    const tokens = data.tokens.filter((t) => t.name !== name);
    if (users.length === data.users.length && tokens.length === data.tokens.length) {
      throw new UsageError(`no user or token "${name}" in ${o.file}`, { hint: 'deploy serve --list-users' });
    }
    writeUsers(o.file, { users, tokens });
    process.stdout.write(`removed ${name} (their sessions end at their next request)\n`);
  } else {
    listUsers(o.file, data);
  }
}

/** One line per user and token: role, since when, until when (tokens), last used. */
function listUsers(file: string, data: ReturnType<typeof readUsers>): void {
  const seen = readSeen(seenFile(file));
  const rows = [
    ...data.users.map((u) => ({ ...u, kind: 'user' as const })),
    ...data.tokens.map((t) => ({ ...t, kind: 'token' as const })),
  ];
  if (rows.length === 0) process.stdout.write(`no users in ${file}\n`);
  const day = (iso: string) => iso.slice(0, 10);
  for (const r of rows) {
    const envs = r.envs?.length ? ` in ${r.envs.join(', ')}` : '';
    const last = seen[`${r.kind}:${r.name}`];
    const used = last ? `${r.kind === 'user' ? 'last login' : 'last used'} ${last.slice(0, 16).replace('T', ' ')}` : '';
    const until =
      r.kind === 'user' ? '' : !r.expires ? 'no expiry' : `${expired(r) ? 'expired' : 'expires'} ${day(r.expires)}`;
    const notes = [`since ${day(r.created)}`, until, used || (r.kind === 'token' ? 'never used' : '')];
    process.stdout.write(
      `${r.name.padEnd(16)} ${r.kind.padEnd(5)} ${r.role}${envs}  (${notes.filter(Boolean).join(', ')})\n`,
    );
  }
  for (const t of data.tokens.filter((t) => !t.expires)) {
    process.stderr.write(
      `warning: token ${t.name} has no expiry (made before tokens expired); replace it: ` +
        `deploy serve --add-token ${t.name} --role ${t.role}${t.envs?.map((e) => ` --env ${e}`).join('') ?? ''}\n`,
    );
  }
}

const now = () => new Date().toISOString();
