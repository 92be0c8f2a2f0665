// The `notify` part of the config schema (schema.ts), with each field's description, default and example
// (NotifySettings in types.ts is derived from it).
import { z } from 'zod';
import { NOTIFY_EVENTS, WEBHOOK_KINDS } from './names.js';
import { doc, envVar, port } from './schema-parts.js';

const positiveInt = z.number().int().positive();

const webhook = z
  .strictObject({
    kind: doc(
      z.enum(WEBHOOK_KINDS).default('json'),
      'Body shape: a generic JSON body, or the message of Slack, DingTalk or Feishu.',
      'slack',
    ),
    url: doc(
      z.url().optional(),
      'The URL to POST to. Set exactly one of `url` and `urlEnv`.',
      'https://hooks.example.com/relink',
    ),
    urlEnv: doc(
      envVar.optional(),
      'Environment variable holding the URL (it usually carries a token).',
      'SLACK_WEBHOOK_URL',
    ),
    timeoutMs: doc(positiveInt.default(5000), 'Time limit of one delivery in ms.', 3000),
  })
  .refine((w) => Boolean(w.url) !== Boolean(w.urlEnv), 'set exactly one of "url" or "urlEnv"');

const email = z.strictObject({
  host: doc(z.string().min(1), 'The SMTP relay.', 'smtp.example.com'),
  port: doc(port.default(25), 'Its port.', 587),
  secure: doc(
    z.boolean().default(false),
    'TLS from the first byte (usually port 465); otherwise STARTTLS, required before a password is sent.',
    true,
  ),
  user: doc(z.string().optional(), 'User to log in as. Default: none (no login).', 'relink'),
  passwordEnv: doc(envVar.optional(), 'Environment variable holding the SMTP password.', 'SMTP_PASSWORD'),
  from: doc(z.string().min(3), 'Sender address.', 'relink@example.com'),
  to: doc(z.array(z.string().min(3)).min(1), 'Recipient addresses.', ['ops@example.com']),
  timeoutMs: doc(positiveInt.default(10_000), 'Time limit of one delivery in ms.', 20000),
  caFile: doc(
    z.string().min(1).optional(),
    "PEM file of a CA to trust for the relay's certificate (a private CA). Default: the system's CAs.",
    '/etc/ssl/private-ca.pem',
  ),
  insecureTls: doc(
    z.boolean().default(false),
    "Send even when the relay's certificate does not verify (a self-signed relay you trust on the path); " +
      'otherwise it is verified on TLS and STARTTLS alike.',
    true,
  ),
});

export const notifySchema = z.strictObject({
  webhooks: doc(
    z.array(webhook).optional(),
    'Webhooks: a generic JSON body, or the message shape of Slack, DingTalk or Feishu. Default: none.',
    [{ kind: 'slack', urlEnv: 'SLACK_WEBHOOK_URL' }],
  ),
  email: doc(email.optional(), 'Email over SMTP with the release report as the body. Default: none.', {
    host: 'smtp.example.com',
    port: 587,
    user: 'relink',
    passwordEnv: 'SMTP_PASSWORD',
    from: 'relink@example.com',
    to: ['ops@example.com'],
  }),
  on: doc(z.array(z.enum(NOTIFY_EVENTS)).default([...NOTIFY_EVENTS]), 'Which events are sent.', [
    'failure',
    'rollback',
  ]),
});
