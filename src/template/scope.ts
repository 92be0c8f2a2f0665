import type { ResolvedConfig } from '../config/types.js';
import type { Inventory, NodeSpec } from '../inventory/types.js';
import type { TemplateScope } from './render.js';

export interface ReleaseFacts {
  readonly release: string;
  readonly version: string;
  readonly commit: string;
  readonly branch: string;
}

/** Template variables for one node: release facts, node, host vars, config and inventory vars, secrets. */
export function templateScope(
  config: ResolvedConfig,
  inventory: Inventory,
  node: NodeSpec,
  facts: ReleaseFacts,
  secrets: Readonly<Record<string, string>> = {},
): TemplateScope {
  return {
    project: config.project,
    env: config.env,
    deployTo: config.deployTo,
    ...facts,
    node: { name: node.name, address: node.address, port: node.port, user: node.user, roles: node.roles.join(',') },
    host: node.vars,
    vars: { ...config.vars, ...inventory.vars },
    secret: secrets,
  };
}

/**
 * The RELINK_* environment of every user command (restart, stop, smoke, hooks): on a node, or on the deploy
 * machine (no node: RELINK_NODE empty). `more` adds what the caller knows (RELINK_PREVIOUS, RELINK_HOOK).
 */
export function commandEnv(
  config: ResolvedConfig,
  node: NodeSpec | undefined,
  facts: ReleaseFacts,
  more: Readonly<Record<string, string>> = {},
): Record<string, string> {
  return {
    RELINK_PROJECT: config.project,
    RELINK_ENV: config.env,
    RELINK_DEPLOY_TO: config.deployTo,
    RELINK_NODE: node?.name ?? '',
    RELINK_RELEASE: facts.release,
    RELINK_VERSION: facts.version,
    RELINK_COMMIT: facts.commit,
    ...more,
  };
}
