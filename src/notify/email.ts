import { readFileSync } from 'node:fs';
import type { ResolvedNotify } from '../config/types.js';
import { sendMail } from '../transport/mail.js';
import type { Channel } from './types.js';

type Email = NonNullable<ResolvedNotify['email']>;

/** Email over SMTP: the notice's title as the subject, the release report (or the notice's text) as the body. */
export const email: Channel<Email> = {
  secrets: (mail, env) => [mail.passwordEnv ? env[mail.passwordEnv] : undefined],
  deliveries: (mail, env) => [
    {
      name: `email to ${mail.to.join(', ')}`,
      send: (notice, report) =>
        sendMail({
          host: mail.host,
          port: mail.port,
          secure: mail.secure,
          user: mail.user,
          password: mail.passwordEnv ? env[mail.passwordEnv] : undefined,
          from: mail.from,
          to: mail.to,
          subject: notice.title,
          text: report ?? notice.text,
          timeoutMs: mail.timeoutMs,
          insecureTls: mail.insecureTls,
          ca: mail.caFile ? readFileSync(mail.caFile, 'utf8') : undefined,
        }),
    },
  ],
};
