/**
 * Names that several layers spell: written once here, as constants, and
 * used by the schema, the config types and the code that acts on them.
 */

/** Webhook payload shapes a notification can take. */
export const WEBHOOK_KINDS = ['json', 'slack', 'dingtalk', 'feishu'] as const;
export type WebhookKind = (typeof WEBHOOK_KINDS)[number];

/** The moments of a release that can send a notification (`announce`: its plan, ahead of it). */
export const NOTIFY_EVENTS = ['announce', 'start', 'success', 'failure', 'rollback'] as const;
export type NotifyEvent = (typeof NOTIFY_EVENTS)[number];

/** Load-balancer drivers an inventory can name. */
export const LB_DRIVERS = ['haproxy', 'nginx', 'command', 'none'] as const;
export type LbDriverName = (typeof LB_DRIVERS)[number];

/** Process managers the `service` setting can drive: systemd, or start-stop-daemon and cron where it is absent. */
export const SERVICE_MANAGERS = ['systemd', 'start-stop-daemon'] as const;
export type ServiceManager = (typeof SERVICE_MANAGERS)[number];
