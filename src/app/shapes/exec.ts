// `deploy exec <env> --json -- <command>`: the command, and on each node its exit code and output.
import { z } from 'zod';
import { d, opt, str } from './common.js';

export const execNode = z.union([
  z.strictObject({
    node: str,
    ran: z.literal(true),
    code: d(z.number().int(), 'exit code on the node (124: timed out, 130: interrupted, 255: connection lost)'),
    ms: d(z.number().int(), 'how long it ran'),
    timedOut: d(z.boolean(), 'ended at the `--timeout` deadline'),
    interrupted: d(z.boolean(), 'ended by Ctrl-C (SIGINT or SIGTERM)'),
    release: opt(str, 'with `--in current`: the release it ran in'),
    stdout: d(str, 'what it printed, redacted'),
    stderr: d(str, 'what it printed on stderr, redacted'),
  }),
  z.strictObject({
    node: str,
    ran: z.literal(false),
    error: d(str, 'why it did not run there: unreachable, no current release, interrupted'),
  }),
]);

export const execJson = z.strictObject({
  env: str,
  command: d(str, 'the shell command line run on each node, redacted'),
  in: d(z.enum(['deployTo', 'current']), 'where it ran: the deploy dir, or the release `current` points at'),
  timeoutMs: d(z.number().int(), 'the deadline on each node'),
  ok: d(z.boolean(), 'it ran on every node and exited 0 there (the exit code is 0 only then)'),
  interrupted: z.boolean(),
  nodes: d(z.array(execNode), 'in inventory order'),
});
