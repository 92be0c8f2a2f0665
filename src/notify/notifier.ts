import type { ResolvedNotify } from '../config/types.js';
import { errorMessage } from '../errors.js';
import type { Reporter } from '../log/events.js';
import type { Redactor } from '../log/redact.js';
import { configuredChannels } from './channels.js';
import type { Notice } from './messages.js';

/**
 * Sends notices to every configured channel. A channel that fails is
 * logged as a warning and never fails the release. Webhook URLs and SMTP
 * passwords come from environment variables and are redacted everywhere.
 */
export class Notifier {
  constructor(
    private readonly settings: ResolvedNotify,
    private readonly reporter: Reporter,
    private readonly redactor: Redactor,
    private readonly env: NodeJS.ProcessEnv = process.env,
  ) {
    for (const channel of configuredChannels(settings)) for (const value of channel.secrets(env)) redactor.add(value);
  }

  async send(notice: Notice, report?: string): Promise<void> {
    if (!this.settings.on.includes(notice.event)) return;
    const jobs: Promise<void>[] = [];
    for (const channel of configuredChannels(this.settings)) {
      for (const delivery of channel.deliveries(this.env)) {
        if (delivery.unusable !== undefined) {
          this.warn(delivery.name, delivery.unusable);
          continue;
        }
        jobs.push(delivery.send(notice, report).catch((e: unknown) => this.warn(delivery.name, errorMessage(e))));
      }
    }
    await Promise.all(jobs);
  }

  private warn(channel: string, why: string): void {
    const message = `notification by ${channel} failed (the release is not affected): ${why}`;
    this.reporter.emit({ type: 'warn', message: this.redactor.apply(message) });
  }
}
