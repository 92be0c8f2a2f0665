import type { NotifySettings } from '../config/types.js';
import { errorMessage } from '../errors.js';
import type { Reporter } from '../log/events.js';
import type { Redactor } from '../log/redact.js';
import { webhookBody, type Notice } from './messages.js';
import { postJson, sendMail } from '../transport/notify.js';

/**
 * Sends notices to every configured channel. A channel that fails is
 * logged as a warning and never fails the release. Webhook URLs and SMTP
 * passwords come from environment variables and are redacted everywhere.
 */
export class Notifier {
  constructor(
    private readonly settings: NotifySettings,
    private readonly reporter: Reporter,
    private readonly redactor: Redactor,
    private readonly env: NodeJS.ProcessEnv = process.env,
  ) {
    for (const hook of settings.webhooks ?? []) if (hook.urlEnv) redactor.add(env[hook.urlEnv]);
    if (settings.email?.passwordEnv) redactor.add(env[settings.email.passwordEnv]);
  }

  async send(notice: Notice, report?: string): Promise<void> {
    if (this.settings.on && !this.settings.on.includes(notice.event)) return;
    const jobs: Promise<void>[] = [];
    for (const [i, hook] of (this.settings.webhooks ?? []).entries()) {
      const url = hook.url ?? this.env[hook.urlEnv ?? ''];
      const name = `webhook ${i + 1} (${hook.kind ?? 'json'})`;
      if (!url) {
        this.warn(name, `environment variable ${hook.urlEnv} is not set`);
        continue;
      }
      jobs.push(postJson(url, webhookBody(hook.kind ?? 'json', notice), hook.timeoutMs ?? 5000).catch((e: unknown) => this.warn(name, errorMessage(e))));
    }
    const email = this.settings.email;
    if (email) {
      jobs.push(
        sendMail({
          host: email.host,
          port: email.port ?? 25,
          secure: email.secure ?? false,
          user: email.user,
          password: email.passwordEnv ? this.env[email.passwordEnv] : undefined,
          from: email.from,
          to: email.to,
          subject: notice.title,
          text: report ?? notice.text,
          timeoutMs: email.timeoutMs ?? 10_000,
        }).catch((e: unknown) => this.warn(`email to ${email.to.join(', ')}`, errorMessage(e))),
      );
    }
    await Promise.all(jobs);
  }

  private warn(channel: string, why: string): void {
    this.reporter.emit({ type: 'warn', message: this.redactor.apply(`notification by ${channel} failed (the release is not affected): ${why}`) });
  }
}
