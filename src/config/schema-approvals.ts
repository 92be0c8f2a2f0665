// The `approvals` setting of an environment (schema.ts): a deploy there needs a second person's approval.
import { z } from 'zod';
import { doc } from './schema-parts.js';

/** `30m`, `4h`, `2d`: a duration in milliseconds. */
export function durationMs(text: string): number {
  const m = /^(\d+)(m|h|d)$/.exec(text);
  if (!m) throw new Error(`"${text}" is not a duration such as 30m, 4h or 2d`);
  return Number(m[1]) * { m: 60_000, h: 3_600_000, d: 86_400_000 }[m[2] as 'm' | 'h' | 'd'];
}

export const approvalsSchema = z.strictObject({
  required: doc(
    z.number().int().min(1).max(5).default(1),
    'How many people must approve a deploy, each someone of `from` other than the one who asks.',
    1,
  ),
  from: doc(
    z.array(z.string().min(1)).min(1),
    'Who may approve: dashboard user names, or group names of `people.groups`.',
    ['ops'],
  ),
  expiresAfter: doc(
    z
      .string()
      .regex(/^\d+(m|h|d)$/, 'a duration such as 30m, 4h or 2d')
      .default('4h'),
    'How long an approval stays valid after it was given.',
    '4h',
  ),
});
