// The documented shape of `notify` in deploy.config.ts (part of EnvironmentSettings in types.ts); the
// schema is schema-notify.ts, and validate.ts fails to compile when the two differ. Each field's JSDoc
// is its schema description word for word (test/unit/docs.test.ts compares them).
import type { NotifyEvent, WebhookKind } from './names.js';

export interface NotifySettings {
  /** Webhooks: a generic JSON body, or the message shape of Slack, DingTalk or Feishu. Default: none. */
  webhooks?: {
    /** Body shape: a generic JSON body, or the message of Slack, DingTalk or Feishu. Default: `json`. */
    kind?: WebhookKind;
    /** The URL to POST to. Set exactly one of `url` and `urlEnv`. */
    url?: string;
    /** Environment variable holding the URL (it usually carries a token). */
    urlEnv?: string;
    /** Time limit of one delivery in ms. Default: 5000. */
    timeoutMs?: number;
  }[];
  /** Email over SMTP with the release report as the body. Default: none. */
  email?: {
    /** The SMTP relay. */
    host: string;
    /** Its port. Default: 25. */
    port?: number;
    /**
     * TLS from the first byte (usually port 465); otherwise STARTTLS, required before a password is sent.
     * Default: false.
     */
    secure?: boolean;
    /** User to log in as. Default: none (no login). */
    user?: string;
    /** Environment variable holding the SMTP password. */
    passwordEnv?: string;
    /** Sender address. */
    from: string;
    /** Recipient addresses. */
    to: string[];
    /** Time limit of one delivery in ms. Default: 10000. */
    timeoutMs?: number;
    /** PEM file of a CA to trust for the relay's certificate (a private CA). Default: the system's CAs. */
    caFile?: string;
    /**
     * Send even when the relay's certificate does not verify (a self-signed relay you trust on the path).
     * Default: false: the certificate is verified on TLS and STARTTLS alike.
     */
    insecureTls?: boolean;
  };
  /** Which events are sent. Default: all of start, success, failure, rollback. */
  on?: NotifyEvent[];
}
