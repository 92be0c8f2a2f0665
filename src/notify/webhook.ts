import type { ResolvedNotify } from '../config/types.js';
import type { WebhookKind } from '../config/names.js';
import { postJson } from '../transport/http.js';
import type { Notice } from './messages.js';
import type { Channel } from './types.js';

type Webhook = NonNullable<ResolvedNotify['webhooks']>[number];

const BODIES = {
  slack: (notice) => ({ text: `*${notice.title}*\n${notice.text}` }),
  dingtalk: (notice) => ({
    msgtype: 'markdown',
    markdown: { title: notice.title, text: `### ${notice.title}\n\n${notice.text}` },
  }),
  feishu: (notice) => ({ msg_type: 'text', content: { text: `${notice.title}\n${notice.text}` } }),
  json: (notice) => ({ ...notice, source: 'relink' }),
} satisfies Record<WebhookKind, (notice: Notice) => object>;

/** The body each webhook kind expects. */
export function webhookBody(kind: WebhookKind, notice: Notice): object {
  return BODIES[kind](notice);
}

/** Webhooks: a JSON POST per notice, in the generic shape or that of Slack, DingTalk or Feishu. */
export const webhooks: Channel<readonly Webhook[]> = {
  secrets: (hooks, env) => hooks.map((hook) => (hook.urlEnv ? env[hook.urlEnv] : undefined)),
  deliveries: (hooks, env) =>
    hooks.map((hook, i) => {
      const kind = hook.kind;
      const url = hook.url ?? env[hook.urlEnv ?? ''];
      return {
        name: `webhook ${i + 1} (${kind})`,
        unusable: url ? undefined : `environment variable ${hook.urlEnv} is not set`,
        send: (notice) => postJson(url ?? '', webhookBody(kind, notice), hook.timeoutMs),
      };
    }),
};
