// The `people` part of the config schema (schema.ts): groups of dashboard users, and who owns, approves and is
// on call for a release (names of users or groups).
import { z } from 'zod';
import { doc } from './schema-parts.js';

const names = z.array(z.string().min(1));

export const peopleSchema = z.strictObject({
  groups: doc(
    z.record(z.string().min(1), names).optional(),
    'Groups of dashboard users: group name -> user names (as in the users file of `deploy serve`).',
    { ops: ['ana', 'bo'] },
  ),
  owner: doc(z.string().min(1).optional(), 'Who owns the release: a user or a group.', 'ana'),
  approvers: doc(names.optional(), 'Who approves releases: users or groups.', ['ops']),
  onCall: doc(names.optional(), 'Who is on call after a release: users or groups.', ['ops']),
});
