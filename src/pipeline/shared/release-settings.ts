import type { CarriedHooks } from '../../config/carried-hooks.js';
import {
  differences,
  type NodeSettings,
  nodeSettingsOf,
  parseReleaseSettings,
  type ReadSettings,
} from '../../config/release-settings.js';
import { errorMessage } from '../../errors.js';
import type { NodeSpec } from '../../inventory/types.js';
import { NO_SETTINGS, readSettings } from '../../remote/release-settings.js';
import { renderTemplate } from '../../template/render.js';
import { templateScope } from '../../template/scope.js';
import { limit, type RunContext, session } from '../context.js';

const key = (node: string, release: string) => `${node}/${release}`;
/**
 * The `node/release` pairs each run has read already: `quiet` (a check or a view, which only says why a copy is
 * unusable), or `said` (all was said). Each is read once per run, and once more when a quiet read is followed
 * by one that says all (the deploy's shared check, then the undo of the deploy that failed).
 */
const seen = new WeakMap<RunContext, Map<string, 'quiet' | 'said'>>();
/** The warnings about unusable copies each run gave: a copy read twice is warned about once. */
const warned = new WeakMap<RunContext, Set<string>>();

/**
 * The node-side settings (restart, stop, smoke, shared, service, node-side hooks) that act on `release` on
 * `node`: the release's own, when this run read them from the node (a rollback, the undo of a failed deploy, the
 * shared check of a deploy), else the local config's.
 */
export function settingsOf(ctx: RunContext, node: NodeSpec | string, release: string): NodeSettings {
  const name = typeof node === 'string' ? node : node.name;
  return ctx.ownSettings.get(key(name, release)) ?? nodeSettingsOf(ctx.config);
}

/**
 * The node-side hooks `release` kept on `node`, when this run read them (a rollback, the undo of a failed deploy);
 * undefined: the local config's act on it (a deploy's new release, `--use-current-config`, a release that kept
 * none or whose copy is unusable).
 */
export function keptHooks(ctx: RunContext, node: NodeSpec, release: string): CarriedHooks | undefined {
  return ctx.ownSettings.get(key(node.name, release))?.hooks;
}

/** A release going back onto a node: whose settings then act on it are read from that node. */
export interface Returning {
  readonly node: NodeSpec;
  readonly release: string;
  /** Only read in case (the release a node would go back to should the run fail): its differences go unsaid. */
  readonly standby?: boolean;
}

/**
 * Reads the settings each release kept on each node, before any of them is restarted. A release without
 * them (made before releases kept them), or whose copy is unusable, uses the local config, with a warning;
 * so do all of them with `--use-current-config` (ctx.currentConfigOnly). Nodes that disagree on a release's
 * settings each use their own copy (a node's copy only ever shapes commands run on that node), with a
 * warning naming them. Never fails: a read that fails is a warning too. `quiet` (a read-only view, a check):
 * no word about releases without settings or hooks.
 */
export async function readOwnSettings(
  ctx: RunContext,
  returning: readonly Returning[],
  options: { quiet?: boolean } = {},
): Promise<void> {
  if (ctx.currentConfigOnly || returning.length === 0) return;
  const done = seen.get(ctx) ?? new Map<string, 'quiet' | 'said'>();
  seen.set(ctx, done);
  const fresh = (r: Returning) => {
    const was = done.get(key(r.node.name, r.release));
    return !was || (was === 'quiet' && !options.quiet);
  };
  const wanted = returning.filter((r, i) => returning.findIndex((o) => same(o, r)) === i && fresh(r));
  for (const r of wanted) done.set(key(r.node.name, r.release), options.quiet ? 'quiet' : 'said');
  const said = warned.get(ctx) ?? new Set<string>();
  warned.set(ctx, said);
  const read = await Promise.all(wanted.map((r) => readOne(ctx, r)));
  const missing = new Map<string, string[]>();
  const hookless = new Map<string, string[]>();
  const local = nodeSettingsOf(ctx.config);
  const byRelease = new Map<string, { node: string; settings: NodeSettings; standby?: boolean }[]>();
  wanted.forEach((r, i) => {
    const got = read[i]!;
    if (got === 'missing') {
      missing.set(r.release, [...(missing.get(r.release) ?? []), r.node.name]);
      return;
    }
    const usable = 'settings' in got ? smokeStaysOnNode(ctx, r, got) : got;
    if ('problem' in usable) {
      const message =
        `${r.node.name}: the settings kept in ${r.release} are not used (${usable.problem}): the current ` +
        "config's restart, stop, smoke, shared and node-side hooks act on it there";
      if (!said.has(message))
        ctx.deps.reporter.emit({ type: 'warn', node: r.node.name, message: ctx.deps.redactor.apply(message) });
      said.add(message);
      return;
    }
    ctx.ownSettings.set(key(r.node.name, r.release), usable.settings);
    // A copy written before releases kept their hooks: the local config's node-side hooks act on the release.
    if (!usable.settings.hooks) hookless.set(r.release, [...(hookless.get(r.release) ?? []), r.node.name]);
    const settings = { ...usable.settings, hooks: usable.settings.hooks ?? local.hooks };
    const copy = { node: r.node.name, settings, standby: r.standby };
    byRelease.set(r.release, [...(byRelease.get(r.release) ?? []), copy]);
  });
  for (const [release, nodes] of options.quiet ? [] : missing) {
    const message =
      `${release} keeps no settings of its own on ${nodes.join(', ')} (made before releases kept them): ` +
      'restart, stop, smoke, shared and node-side hooks come from the current config there';
    ctx.deps.reporter.emit({ type: 'warn', message });
  }
  for (const [release, nodes] of options.quiet ? [] : hookless) {
    const message =
      `${release} keeps no hooks of its own on ${nodes.join(', ')} (made before releases kept them): ` +
      'its node-side hooks come from the current config there';
    ctx.deps.reporter.emit({ type: 'warn', message });
  }
  for (const [release, copies] of byRelease) {
    const first = copies[0]!;
    const apart = copies.filter((c) => differences(c.settings, first.settings).length > 0);
    if (apart.length) {
      const fields = [...new Set(apart.flatMap((c) => differences(c.settings, first.settings)))].join(', ');
      const where = apart.map((c) => c.node).join(', ');
      const message =
        `the nodes disagree on the settings ${release} kept (${fields} differ on ${where} ` +
        `from ${first.node}): each node uses its own copy`;
      if (!said.has(message)) ctx.deps.reporter.emit({ type: 'warn', message });
      said.add(message);
    }
    const changed = differences(first.settings, local);
    if (changed.length && copies.some((c) => !c.standby)) {
      const differ = `${changed.join(', ')} differ from the current config`;
      ctx.deps.reporter.emit({
        type: 'info',
        message: `${release} runs with the settings it was deployed with (${differ})`,
      });
    }
  }
}

function same(a: Returning, b: Returning): boolean {
  return a.node.name === b.node.name && a.release === b.release;
}

/** One node's copy of one release's settings; 'missing' when the release has none. */
async function readOne(ctx: RunContext, r: Returning): Promise<ReadSettings | 'missing'> {
  try {
    const result = await session(ctx, r.node).exec(readSettings(ctx.layout, r.release), limit(ctx, 'inspect'));
    if (result.code !== 0) return { problem: `it cannot be read (exit ${result.code})` };
    if (result.stdout.trim() === NO_SETTINGS) return 'missing';
    return parseReleaseSettings(result.stdout, r.release);
  } catch (error) {
    return { problem: `it cannot be read: ${errorMessage(error).split('\n')[0]}` };
  }
}

/**
 * A smoke URL is requested from the deploy machine: one read from a node may only go to that node (the host
 * the current config's URL names for it, or its address), over http or https.
 */
function smokeStaysOnNode(ctx: RunContext, r: Returning, read: { settings: NodeSettings }): ReadSettings {
  const url = read.settings.smoke?.url;
  if (!url) return read;
  const host = (template: string) => {
    try {
      const facts = { release: r.release, version: 'v', commit: 'c', branch: '' };
      const parsed = new URL(
        renderTemplate(template, templateScope(ctx.config, ctx.inventory, r.node, facts), 'smoke.url'),
      );
      return /^https?:$/.test(parsed.protocol) ? parsed.hostname.replace(/^\[|\]$/g, '') : undefined;
    } catch {
      return undefined;
    }
  };
  const allowed = [r.node.address, ctx.config.smoke?.url ? host(ctx.config.smoke.url) : undefined];
  const to = host(url);
  if (to && allowed.includes(to)) return read;
  return { problem: `its smoke URL does not go to ${r.node.name}` };
}
