import type { ResolvedNotify } from '../config/types.js';
import type { Notice } from './messages.js';

/** One place a notice goes: a webhook URL, a list of mail recipients. */
export interface Delivery {
  /** How warnings name it: `webhook 2 (slack)`, `email to ops@example.com`. */
  readonly name: string;
  /** Why it cannot be sent, known before trying (an unset environment variable): a warning instead. */
  readonly unusable?: string;
  /** Sends one notice; `report` is the full release report, for channels with room for it. */
  send(notice: Notice, report?: string): Promise<void>;
}

/**
 * A kind of notification, configured by its own key of `notify` (`webhooks`,
 * `email`). It only describes the work: sockets are opened by transport/.
 */
export interface Channel<S> {
  /** Values to redact from every log line: URLs with tokens, passwords, read from the environment. */
  secrets(settings: S, env: NodeJS.ProcessEnv): (string | undefined)[];
  /** Where each notice goes, resolved against the environment when it is sent. */
  deliveries(settings: S, env: NodeJS.ProcessEnv): Delivery[];
}

/** The keys of `notify` that configure a channel (all but `on`, the choice of events). */
export type ChannelKey = Exclude<keyof ResolvedNotify, 'on'>;

/** The channel of each key, typed by what that key holds. */
export type ChannelOf = { readonly [K in ChannelKey]: Channel<NonNullable<ResolvedNotify[K]>> };
