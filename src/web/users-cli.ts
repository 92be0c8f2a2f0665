// `deploy serve --add-user | --remove-user | --add-token | --list-users`: the users file by hand.
import { UsageError } from '../errors.js';
import {
  checkName,
  hashPassword,
  MIN_PASSWORD,
  newToken,
  ROLES,
  type Role,
  readUsers,
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
    const token = newToken();
    const entry: UserEntry = { name, role, ...scope, hash: tokenHash(token), created: now() };
    writeUsers(o.file, { ...data, tokens: upsert(data.tokens, entry) });
    process.stderr.write(`API token ${name}: ${role}${where}; it is shown once, keep it in your CI's secrets:\n`);
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
    const rows = [
      ...data.users.map((u) => ({ ...u, kind: 'user' })),
      ...data.tokens.map((t) => ({ ...t, kind: 'token' })),
    ];
    if (rows.length === 0) process.stdout.write(`no users in ${o.file}\n`);
    for (const r of rows) {
      const envs = r.envs?.length ? ` in ${r.envs.join(', ')}` : '';
      process.stdout.write(
        `${r.name.padEnd(16)} ${r.kind.padEnd(5)} ${r.role}${envs}  (since ${r.created.slice(0, 10)})\n`,
      );
    }
  }
}

const now = () => new Date().toISOString();
