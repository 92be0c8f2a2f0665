// What a failed node-to-node copy of a relay says, with the next step for its likely cause.
import { RelinkError } from '../../errors.js';
import type { NodeSpec } from '../../inventory/types.js';
import { hostLabel } from '../../transport/known-hosts.js';
import type { ExecResult } from '../../transport/types.js';
import type { RunContext } from '../context.js';
import { stderrTail } from './work.js';

/** What a failed node-to-node copy says, with the next step for its likely cause. */
export function copyError(ctx: RunContext, from: NodeSpec, to: NodeSpec, result: ExecResult): RelinkError {
  const where = hostLabel(to.address, to.port);
  const text = result.stderr;
  const hint =
    result.code === 124
      ? 'the copy took longer than rollout.fanout.timeoutMs: raise it, or use a wider tree (rollout.fanout.width)'
      : /Permission denied/i.test(text)
        ? `${to.name} refused the run's key: rollout.fanout.from must match the address ${to.name} sees ${from.name} ` +
          `connect from (default: ${from.address}), and sshd there must read ~/.ssh/authorized_keys`
        : /host key|IDENTIFICATION HAS CHANGED/i.test(text)
          ? `${from.name} saw another host key at ${where} than this machine's known_hosts has for ${to.name}`
          : /Connection refused|timed out|No route|resolve|unreachable/i.test(text)
            ? `${from.name} cannot reach ${to.name} at ${where}: nodes must reach each other at their inventory ` +
              "addresses for a relay (or use rollout.fanout.mode 'push')"
            : /No space left/i.test(text)
              ? `check free disk under ${ctx.layout.deployTo} on ${to.name}`
              : `check that rsync and ssh are installed on ${from.name} and ${to.name}`;
  return new RelinkError(`${to.name}: relay from ${from.name} failed (exit ${result.code}): ${stderrTail(ctx, text)}`, {
    hint,
  });
}
