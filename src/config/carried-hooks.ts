// The hooks a release carries in its settings file (config/release-settings.ts): those that run on the nodes
// (`on: each` and `on: once`), resolved (named, defaults filled in), so that a rollback to the release, or the
// undo of a failed deploy that brings it back, runs the node-side hooks it was deployed with. Hooks that run
// on the deploy machine (`on: local`) are never carried: they come from the local config only. A node's copy
// is untrusted: each hook is checked as strictly as the config checks it (where its point lets it run, `node`
// only with `once`, one name per hook).
import { z } from 'zod';
import { HOOK_POINTS, type HookPoint, type ResolvedHook, type ResolvedHooks } from './schema-hooks.js';

/** The points whose hooks may run on a node, in the order a run reaches them. */
export const NODE_HOOK_POINTS = (Object.keys(HOOK_POINTS) as HookPoint[]).filter((point) =>
  (HOOK_POINTS[point].places as readonly string[]).some((place) => place !== 'local'),
) as NodeHookPoint[];

export type NodeHookPoint = Exclude<HookPoint, 'beforeBuild' | 'afterBuild'>;

/** One carried hook: a resolved hook that runs on a node. */
const carriedHook = z.strictObject({
  command: z.string().min(1).max(8192),
  on: z.enum(['each', 'once']),
  node: z.string().min(1).max(253).optional(),
  name: z
    .string()
    .max(200)
    .regex(/^[A-Za-z0-9._#-]+$/),
  timeoutMs: z.number().int().positive().max(86_400_000),
  emergency: z.boolean(),
});

const list = z.array(carriedHook).max(100).optional();

/** The carried hooks, by point; a point without node-side hooks is left out. */
export const carriedHooksSchema = z
  .strictObject({
    afterDistribute: list,
    beforeSwitch: list,
    afterSwitch: list,
    afterRollout: list,
    onFailure: list,
    beforeRollback: list,
    afterRollback: list,
  } satisfies Record<NodeHookPoint, typeof list>)
  .superRefine((hooks, issue) => {
    const names = new Set<string>();
    for (const point of NODE_HOOK_POINTS)
      (hooks[point] ?? []).forEach((hook, i) => {
        const at = [point, i];
        const places: readonly string[] = HOOK_POINTS[point].places;
        if (!places.includes(hook.on))
          issue.addIssue({ code: 'custom', path: [...at, 'on'], message: `${point} hooks do not run ${hook.on}` });
        if (hook.node !== undefined && hook.on !== 'once')
          issue.addIssue({ code: 'custom', path: [...at, 'node'], message: '"node" needs on: once' });
        if (names.has(hook.name))
          issue.addIssue({ code: 'custom', path: [...at, 'name'], message: `"${hook.name}" is used twice` });
        names.add(hook.name);
      });
  });

export type CarriedHooks = z.output<typeof carriedHooksSchema>;

/** The node-side hooks of the resolved hooks (the local config's): what a release carries. */
export function nodeHooksOf(hooks: ResolvedHooks): CarriedHooks {
  const out: Partial<Record<NodeHookPoint, ResolvedHook[]>> = {};
  for (const point of NODE_HOOK_POINTS) {
    const onNodes = hooks[point].filter((hook) => hook.on !== 'local');
    if (onNodes.length)
      out[point] = onNodes.map(({ command, on, node, name, timeoutMs, emergency }) => ({
        command,
        on,
        ...(node ? { node } : {}),
        name,
        timeoutMs,
        emergency,
      }));
  }
  return out as CarriedHooks;
}

/** Whether a point's hooks may run on a node (and so may come from a release's own settings). */
export function isNodeHookPoint(point: HookPoint): point is NodeHookPoint {
  return (NODE_HOOK_POINTS as readonly HookPoint[]).includes(point);
}
