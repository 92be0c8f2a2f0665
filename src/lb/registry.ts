import path from 'node:path';
import type { LbDriverName } from '../config/names.js';
import type { ResolvedConfig } from '../config/types.js';
import type { Inventory, LbSpec, NodeSpec } from '../inventory/types.js';
import type { PollClock } from '../poll.js';
import { renderTemplate } from '../template/render.js';
import { commandEnv, templateScope, type ReleaseFacts } from '../template/scope.js';
import { runLocalCommand } from '../transport/local.js';
import { talkToSocket } from '../transport/socket.js';
import type { NodeSession } from '../transport/types.js';
import { commandHooks } from './command-hooks.js';
import { haproxy } from './haproxy.js';
import { nginx } from './nginx.js';
import { NoLb, none } from './none.js';
import type { LbContext, LbDriver, LbFactory, LbRunner, LbSpecOf } from './types.js';
import pLimit from 'p-limit';

type LbFactories = { readonly [D in LbDriverName]: LbFactory<D> };

/** Every driver an inventory can name, by its `lb.driver`. A new driver: one file, one line here. */
export const LB_FACTORIES = {
  haproxy,
  nginx,
  command: commandHooks,
  none,
} satisfies LbFactories;

/** The driver for an inventory's `lb` section; no section, no load balancer. */
export function lbDriver(spec: LbSpec | undefined, context: LbContext): LbDriver {
  return spec ? build(spec.driver, spec, context) : new NoLb();
}

function build<D extends LbDriverName>(driver: D, spec: LbSpecOf[D], context: LbContext): LbDriver {
  const factories: LbFactories = LB_FACTORIES;
  return factories[driver](spec, context);
}

/** What a run knows that the drivers need. */
export interface LbSetup {
  readonly config: ResolvedConfig;
  readonly inventory: Inventory;
  /** The connection to the LB host; without it, LB commands run on the deploy machine. */
  readonly session?: NodeSession;
  /** The run's clock (`deps.now`, `deps.sleep`), for the drivers' waits. */
  readonly clock: PollClock;
}

/** LB commands are not about a release: the release facts of their templates and environment are empty. */
const NO_RELEASE: ReleaseFacts = { release: '', version: '', commit: '', branch: '' };

/** A command to the load balancer that has not answered in this time is abandoned. */
const LB_COMMAND_TIMEOUT_MS = 15_000;

/**
 * Commands in flight to the load balancer at once. Over SSH each is a channel of one connection, and OpenSSH
 * allows 10 per connection (MaxSessions): a group of any size stays below it.
 */
export const LB_CHANNELS = 6;

/** Runs at most LB_CHANNELS commands at once; the rest wait their turn. */
function budgeted(run: LbRunner): LbRunner {
  const limit = pLimit(LB_CHANNELS);
  return (command, stdin) => limit(() => run(command, stdin));
}

/** The explicit context of the drivers: where their commands run, how paths and templates resolve, the clock. */
export function lbContext(setup: LbSetup): LbContext {
  const { config, inventory, session } = setup;
  const run = budgeted(
    session
      ? (command, stdin) => session.exec(command, { stdin, timeoutMs: LB_COMMAND_TIMEOUT_MS })
      : (command, stdin) => runLocalCommand(command, { input: stdin, timeoutMs: LB_COMMAND_TIMEOUT_MS }),
  );
  const limit = pLimit(LB_CHANNELS);
  const talk = session
    ? undefined
    : (address: string, input: string) => limit(() => talkToSocket(address, input, LB_COMMAND_TIMEOUT_MS));
  const base = path.resolve(config.root, path.dirname(inventory.file));
  const scope = (node: NodeSpec) => templateScope(config, inventory, node, NO_RELEASE);
  return {
    run,
    talk,
    path: (file) => (session || path.isAbsolute(file) ? file : path.resolve(base, file)),
    sleep: setup.clock.sleep,
    now: setup.clock.now,
    render: (template, node, where) => renderTemplate(template, scope(node), where),
    env: (node) => commandEnv(config, node, NO_RELEASE),
  };
}

/** Builds the driver the inventory asks for; its commands run here or on the LB host. */
export function createLb(setup: LbSetup): LbDriver {
  return lbDriver(setup.inventory.lb, lbContext(setup));
}

/** The LB host of the inventory as a node, when LB commands run over SSH. */
export function lbHost(inventory: Inventory): NodeSpec | undefined {
  const host = inventory.lb?.host;
  if (!host) return undefined;
  return { name: 'lb', address: host.address, port: host.port, user: host.user, roles: [], vars: {} };
}
