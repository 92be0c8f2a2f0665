// The hooks of one environment as the run uses them: every point present, each hook named, the `backup`
// alias turned into the first beforeSwitch hook, and `node` checked against `on`.
import { UsageError } from '../errors.js';
import type { FilledSettings } from './resolved.js';
import { HOOK_POINTS, type HookPoint, type ResolvedHook, type ResolvedHooks } from './schema-hooks.js';

export type { ResolvedHook, ResolvedHooks } from './schema-hooks.js';

export const HOOK_POINT_NAMES = Object.keys(HOOK_POINTS) as HookPoint[];

/** The hooks of every point, in the order they run; `backup` (an alias) first of beforeSwitch. */
export function resolveHooks(settings: FilledSettings, file: string, env: string): ResolvedHooks {
  const out = {} as Record<HookPoint, ResolvedHook[]>;
  for (const point of HOOK_POINT_NAMES) {
    const written = [...(settings.hooks?.[point] ?? [])];
    const places: readonly string[] = HOOK_POINTS[point].places;
    const list = written.map((hook, i): ResolvedHook => {
      const on = hook.on ?? HOOK_POINTS[point].places[0];
      const at = `${file}: hooks.${point}[${i}]`;
      if (!places.includes(on))
        throw new UsageError(`${at}: ${point} hooks run ${places.join(' or ')}, not ${on} (environment ${env})`, {
          hint: `use on: '${places[0]}', or move the hook to another point`,
        });
      if (hook.node && on !== 'once')
        throw new UsageError(`${at}: "node" needs on: 'once' (environment ${env})`, {
          hint: `set on: 'once' to run it on ${hook.node}, or remove "node"`,
        });
      const name = hook.name ?? (written.length > 1 ? `${point}#${i + 1}` : point);
      return { ...hook, on, name, emergency: hook.emergency ?? false };
    });
    out[point] = list;
  }
  const backup = settings.backup;
  if (backup) {
    const hook: ResolvedHook = {
      command: backup.command,
      on: backup.node ? 'once' : 'local',
      node: backup.node,
      name: 'backup',
      timeoutMs: backup.timeoutMs,
      emergency: false,
    };
    out.beforeSwitch = [hook, ...out.beforeSwitch];
  }
  const names = new Set<string>();
  for (const point of HOOK_POINT_NAMES)
    for (const hook of out[point]) {
      if (names.has(hook.name))
        throw new UsageError(`${file}: hooks: the name "${hook.name}" is used twice (environment ${env})`, {
          hint: 'give every hook its own name',
        });
      names.add(hook.name);
    }
  return out;
}
