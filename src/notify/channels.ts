import type { ResolvedNotify } from '../config/types.js';
import { email } from './email.js';
import type { ChannelKey, ChannelOf, Delivery } from './types.js';
import { webhooks } from './webhook.js';

/** Every notification channel, by its key of `notify`, in the order they are sent. A new one: one file, one line. */
export const CHANNELS = {
  webhooks,
  email,
} satisfies ChannelOf;

const KEYS = Object.keys(CHANNELS) as ChannelKey[];

/** The configured part of one channel, bound to its settings. */
interface Configured {
  secrets(env: NodeJS.ProcessEnv): (string | undefined)[];
  deliveries(env: NodeJS.ProcessEnv): Delivery[];
}

function configure<K extends ChannelKey>(key: K, settings: ResolvedNotify): Configured | undefined {
  const own = settings[key];
  if (own === undefined) return undefined;
  const channels: ChannelOf = CHANNELS;
  const channel = channels[key];
  return { secrets: (env) => channel.secrets(own, env), deliveries: (env) => channel.deliveries(own, env) };
}

/** The channels the settings configure, in the order of CHANNELS. */
export function configuredChannels(settings: ResolvedNotify): Configured[] {
  return KEYS.flatMap((key) => configure(key, settings) ?? []);
}
