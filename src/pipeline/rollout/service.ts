// The app as a service (the `service` setting): restarted and stopped on a node through its process manager
// (systemd or the start-stop-daemon fallback), and its state read for `deploy status`.
import { RelinkError } from '../../errors.js';
import { nextStep, said } from '../../next.js';
import type { NodeSpec } from '../../inventory/types.js';
import {
  parseServiceStatus,
  type ServicePlace,
  type ServiceSpec,
  type ServiceState,
  serviceRestart,
  serviceStatus,
  serviceStop,
} from '../../remote/service.js';
import type { Command } from '../../remote/tokens.js';
import { TIMEOUT_EXIT } from '../../transport/types.js';
import { type RunContext, session, userLimit } from '../context.js';

/** Where the environment's service runs on a node. */
export function servicePlace(ctx: RunContext): ServicePlace {
  return { project: ctx.config.project, env: ctx.config.env, layout: ctx.layout, logsDir: ctx.config.logs.dir };
}

/**
 * Runs one verb of the manager on the node within service.timeoutMs. A failure names the node, the verb and
 * the manager's last lines (not the command line, which the run log holds).
 */
async function managed(ctx: RunContext, node: NodeSpec, verb: string, command: Command, spec: ServiceSpec) {
  const result = await session(ctx, node).exec(command, userLimit(ctx, spec.timeoutMs));
  if (result.code === 0) return result;
  const tail = ctx.deps.redactor.apply(result.stderr.trim().split('\n').slice(-3).join('\n  '));
  const what = result.code === TIMEOUT_EXIT ? `did not finish within ${spec.timeoutMs} ms` : `exited ${result.code}`;
  const manager = spec.manager === 'systemd' ? `systemctl ${verb}` : `start-stop-daemon (${verb})`;
  throw new RelinkError(`${node.name}: ${manager} of ${spec.unit} ${what}${tail ? `\n  ${tail}` : ''}`, {
    hint: said`check the service setting in deploy.config.ts; ${nextStep('doctor', ctx.config.env)} checks the node`,
  });
}

/** Installs the service (unit file, or crontab line) and restarts it from `current`. */
export async function restartService(ctx: RunContext, node: NodeSpec, spec: ServiceSpec): Promise<void> {
  await managed(ctx, node, 'restart', serviceRestart(spec, servicePlace(ctx)), spec);
}

/** Stops the service and takes it out of the node's boot. */
export async function stopService(ctx: RunContext, node: NodeSpec, spec: ServiceSpec): Promise<void> {
  await managed(ctx, node, 'stop', serviceStop(spec, servicePlace(ctx)), spec);
}

/** What the manager says of the app on the node, for `deploy status`. */
export async function readService(ctx: RunContext, node: NodeSpec, spec: ServiceSpec): Promise<ServiceState> {
  const result = await session(ctx, node).exec(serviceStatus(spec, servicePlace(ctx)), userLimit(ctx, spec.timeoutMs));
  return parseServiceStatus(spec, result.stdout);
}
