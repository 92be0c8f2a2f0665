import { describe, expect, it } from 'vitest';
import { WEBHOOK_KINDS } from '../../src/config/names.js';
import { notifySchema } from '../../src/config/schema-notify.js';
import type { RunEvent } from '../../src/log/events.js';
import { Redactor } from '../../src/log/redact.js';
import { CHANNELS, configuredChannels } from '../../src/notify/channels.js';
import type { Notice } from '../../src/notify/messages.js';
import { Notifier } from '../../src/notify/notifier.js';
import { webhookBody } from '../../src/notify/webhook.js';

const notice: Notice = {
  event: 'success',
  title: 'hello prod v1',
  text: 'all good',
  env: 'prod',
  runId: 'r1',
  user: 'ana',
};

function reporter() {
  const events: RunEvent[] = [];
  return { events, emit: (e: RunEvent) => events.push(e), close: () => undefined };
}

describe('notification channels', () => {
  it('shapes the body of every webhook kind', () => {
    expect(webhookBody('slack', notice)).toEqual({ text: '*hello prod v1*\nall good' });
    expect(webhookBody('dingtalk', notice)).toEqual({
      msgtype: 'markdown',
      markdown: { title: 'hello prod v1', text: '### hello prod v1\n\nall good' },
    });
    expect(webhookBody('feishu', notice)).toEqual({ msg_type: 'text', content: { text: 'hello prod v1\nall good' } });
    expect(webhookBody('json', notice)).toEqual({ ...notice, source: 'relink' });
    for (const kind of WEBHOOK_KINDS) expect(webhookBody(kind, notice)).toBeTypeOf('object');
  });

  it('lists the configured channels in registry order, webhooks before email', () => {
    expect(Object.keys(CHANNELS)).toEqual(['webhooks', 'email']);
    const settings = notifySchema.parse({
      email: { host: 'smtp', from: 'a@x', to: ['b@x', 'c@x'] },
      webhooks: [{ url: 'https://hooks.example/u' }],
    });
    const names = configuredChannels(settings).flatMap((c) => c.deliveries({}).map((d) => d.name));
    expect(names).toEqual(['webhook 1 (json)', 'email to b@x, c@x']);
    expect(configuredChannels(notifySchema.parse({}))).toEqual([]);
  });
});

describe('Notifier', () => {
  it('redacts URLs and passwords from the environment, warns of an unset one, and skips unwanted events', async () => {
    const env = { HOOK: 'https://hooks.example/T0K3N', SMTP_PW: 'pw-secret' };
    const settings = notifySchema.parse({
      webhooks: [{ urlEnv: 'HOOK', kind: 'slack' }, { urlEnv: 'MISSING' }],
      email: { host: 'smtp', from: 'a@x', to: ['b@x'], passwordEnv: 'SMTP_PW' },
      on: ['failure'],
    });
    const redactor = new Redactor();
    const out = reporter();
    const notifier = new Notifier(settings, out, redactor, env);
    expect(redactor.apply('post https://hooks.example/T0K3N with pw-secret')).toBe('post [REDACTED] with [REDACTED]');
    await notifier.send(notice);
    expect(out.events).toEqual([]);
    const only = new Notifier(notifySchema.parse({ webhooks: [{ urlEnv: 'MISSING' }] }), out, new Redactor(), {});
    await only.send(notice);
    expect(out.events).toEqual([
      {
        type: 'warn',
        message:
          'notification by webhook 1 (json) failed (the release is not affected): ' +
          'environment variable MISSING is not set',
      },
    ]);
  });
});
