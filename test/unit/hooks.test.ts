import { describe, expect, it } from 'vitest';
import { resolveConfig } from '../../src/config/load.js';
import { validateUserConfig } from '../../src/config/validate.js';
import { UsageError } from '../../src/errors.js';

function resolved(extra: Record<string, unknown>, env = 'prod') {
  const user = validateUserConfig({ project: 'shop', repo: '.', deployTo: '/srv/shop', ...extra }, 'deploy.config.ts');
  return resolveConfig(user, env, '/p/deploy.config.ts');
}

const summary = (hooks: readonly { name: string; on: string; node?: string; command: string }[]) =>
  hooks.map((h) => `${h.name} ${h.on}${h.node ? `:${h.node}` : ''} ${h.command}`);

describe('hooks in deploy.config.ts', () => {
  it('are empty at every point by default', () => {
    const { hooks } = resolved({});
    expect(Object.keys(hooks)).toEqual([
      'beforeBuild',
      'afterBuild',
      'afterDistribute',
      'beforeSwitch',
      'afterSwitch',
      'afterRollout',
      'onFailure',
      'beforeRollback',
      'afterRollback',
    ]);
    expect(Object.values(hooks).flat()).toEqual([]);
  });

  it('run where their point runs them by default, with a 300 s limit, not in emergencies; named by point', () => {
    const { hooks } = resolved({
      hooks: {
        beforeBuild: [{ command: 'b' }],
        afterDistribute: [{ command: 'd' }],
        beforeSwitch: [{ command: 'm1' }, { command: 'm2', on: 'once', node: 'db1', timeoutMs: 900_000 }],
        afterSwitch: [{ command: 's', emergency: true, name: 'opcache' }],
        afterRollout: [{ command: 'r' }],
      },
    });
    expect(summary(hooks.beforeBuild)).toEqual(['beforeBuild local b']);
    expect(summary(hooks.afterDistribute)).toEqual(['afterDistribute each d']);
    expect(summary(hooks.beforeSwitch)).toEqual(['beforeSwitch#1 once m1', 'beforeSwitch#2 once:db1 m2']);
    expect(hooks.beforeSwitch.map((h) => [h.timeoutMs, h.emergency])).toEqual([
      [300_000, false],
      [900_000, false],
    ]);
    expect(summary(hooks.afterSwitch)).toEqual(['opcache each s']);
    expect(hooks.afterSwitch[0]!.emergency).toBe(true);
    expect(summary(hooks.afterRollout)).toEqual(['afterRollout local r']);
  });

  it('merge per environment point by point: a point the environment names replaces the list, [] drops it', () => {
    const config = {
      hooks: { beforeSwitch: [{ command: 'migrate' }], afterSwitch: [{ command: 'clear' }] },
      environments: {
        dev: { hooks: { beforeSwitch: [] } },
        prod: { hooks: { afterSwitch: [{ command: 'reload php' }], afterRollout: [{ command: 'chat' }] } },
      },
    };
    const dev = resolved(config, 'dev').hooks;
    expect(summary(dev.beforeSwitch)).toEqual([]);
    expect(summary(dev.afterSwitch)).toEqual(['afterSwitch each clear']);
    const prod = resolved(config, 'prod').hooks;
    expect(summary(prod.beforeSwitch)).toEqual(['beforeSwitch once migrate']);
    expect(summary(prod.afterSwitch)).toEqual(['afterSwitch each reload php']);
    expect(summary(prod.afterRollout)).toEqual(['afterRollout local chat']);
    expect(summary(resolved(config, 'test').hooks.afterSwitch)).toEqual(['afterSwitch each clear']);
  });

  it('take `backup` as an alias: the first beforeSwitch hook, once on its node or on this machine', () => {
    const onNode = resolved({
      backup: { command: 'pg_dump', node: 'db1' },
      hooks: { beforeSwitch: [{ command: 'migrate' }] },
    }).hooks;
    expect(summary(onNode.beforeSwitch)).toEqual(['backup once:db1 pg_dump', 'beforeSwitch once migrate']);
    expect(onNode.beforeSwitch[0]!.timeoutMs).toBe(600_000);
    expect(summary(resolved({ backup: { command: 'dump' } }).hooks.beforeSwitch)).toEqual(['backup local dump']);
  });

  it('refuse a place their point cannot run at, `node` without once, and a name used twice', () => {
    const local = () => resolved({ hooks: { afterSwitch: [{ command: 'x', on: 'local' }] } });
    expect(local).toThrow(UsageError);
    expect(local).toThrow(/hooks\.afterSwitch\[0\]: afterSwitch hooks run each, not local \(environment prod\)/);
    expect(() => resolved({ hooks: { beforeBuild: [{ command: 'x', on: 'each' }] } })).toThrow(
      /beforeBuild hooks run local, not each/,
    );
    expect(() => resolved({ hooks: { afterRollout: [{ command: 'x', on: 'everywhere' }] } })).toThrow(
      /hooks\.afterRollout\[0\]\.on/,
    );
    expect(() => resolved({ hooks: { onBoot: [{ command: 'x' }] } })).toThrow(/onBoot/);
    const nodeWithoutOnce = () => resolved({ hooks: { afterRollout: [{ command: 'x', node: 'db1' }] } });
    expect(nodeWithoutOnce).toThrow(UsageError);
    expect(nodeWithoutOnce).toThrow(/hooks\.afterRollout\[0\]: "node" needs on: 'once'/);
    const twice = () =>
      resolved({ backup: { command: 'a' }, hooks: { afterSwitch: [{ command: 'b', name: 'backup' }] } });
    expect(twice).toThrow(/the name "backup" is used twice/);
  });
});
