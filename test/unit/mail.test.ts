import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';
import { afterEach, describe, expect, it } from 'vitest';
import { sendMail } from '../../src/transport/mail.js';

const servers: SMTPServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
});

/** A local SMTP relay; with STARTTLS it presents smtp-server's built-in self-signed certificate. */
async function relay(starttls: boolean) {
  const seen = { auth: [] as string[], mails: 0 };
  const server = new SMTPServer({
    disabledCommands: starttls ? [] : ['STARTTLS'],
    allowInsecureAuth: !starttls,
    onAuth(auth, _session, callback) {
      seen.auth.push(`${auth.username}:${auth.password}`);
      callback(null, { user: auth.username });
    },
    onData(stream, _session, callback) {
      stream.resume();
      stream.on('end', () => {
        seen.mails++;
        callback();
      });
    },
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.server.address() as AddressInfo).port;
  return { port, seen };
}

const mail = (port: number, extra: { insecureTls?: boolean } = {}) => ({
  host: '127.0.0.1',
  port,
  secure: false,
  user: 'relink',
  password: 's3cret-pass',
  from: 'relink@example.test',
  to: ['ops@example.test'],
  subject: 'prod: v1 deployed',
  text: 'hello',
  timeoutMs: 5000,
  ...extra,
});

describe('email over SMTP: certificates are verified', () => {
  it('refuses a STARTTLS relay whose certificate does not verify, before the password is sent', async () => {
    const { port, seen } = await relay(true);
    await expect(sendMail(mail(port))).rejects.toThrow(/self[- ]signed|certificate/i);
    expect(seen.auth).toEqual([]);
    expect(seen.mails).toBe(0);
  });

  it('sends through a self-signed relay only when insecureTls says so', async () => {
    const { port, seen } = await relay(true);
    await sendMail(mail(port, { insecureTls: true }));
    expect(seen.auth).toEqual(['relink:s3cret-pass']);
    expect(seen.mails).toBe(1);
  });

  it('never sends a password over a connection without TLS', async () => {
    const { port, seen } = await relay(false);
    await expect(sendMail(mail(port))).rejects.toThrow(/STARTTLS|TLS/i);
    expect(seen.auth).toEqual([]);
  });
});
