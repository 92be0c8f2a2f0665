// The types of deploy.config.ts, derived from its schema (schema*.ts), where every field's description,
// default and example live: what a user writes (the schemas' input: a field with a default is optional).
// The reference of every field: docs/reference/config.md, generated from the same schema.
import type { z } from 'zod';
import type { scheduleEntrySchema, configSchema, environmentSchema } from './schema.js';
import type { fanoutSchema } from './schema-fanout.js';
import type { notifySchema } from './schema-notify.js';
import type {
  buildSchema,
  restartSchema,
  rolloutSchema,
  smokeSchema,
  sshSchema,
  templateSchema,
} from './schema-settings.js';

export type { ResolvedConfig } from './resolved.js';

/** What a user writes in deploy.config.ts (what `defineConfig` takes). */
export type UserConfig = z.input<typeof configSchema>;
/** The settings that can differ per environment: `environments.<env>`, and the top level. */
export type EnvironmentSettings = z.input<typeof environmentSchema>;
export type ScheduleEntry = z.input<typeof scheduleEntrySchema>;
export type BuildSettings = z.input<typeof buildSchema>;
export type TemplateSettings = z.input<typeof templateSchema>;
export type RestartSettings = z.input<typeof restartSchema>;
export type SmokeSettings = z.input<typeof smokeSchema>;
export type RolloutSettings = z.input<typeof rolloutSchema>;
export type SshSettings = z.input<typeof sshSchema>;
export type FanoutSettings = z.input<typeof fanoutSchema>;
export type NotifySettings = z.input<typeof notifySchema>;
/** `notify` with every default filled in: what the notification channels take. */
export type ResolvedNotify = z.output<typeof notifySchema>;
