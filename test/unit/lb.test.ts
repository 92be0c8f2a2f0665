import { describe, expect, it } from 'vitest';
import { LB_DRIVERS } from '../../src/config/names.js';
import type { ResolvedConfig } from '../../src/config/types.js';
import type { Inventory, LbSpec, NodeSpec } from '../../src/inventory/types.js';
import { HaproxyDriver, parseServersState, parseShowStat, toServerState } from '../../src/lb/haproxy.js';
import { NginxDriver, serversIn, setDown } from '../../src/lb/nginx.js';
import { NoLb } from '../../src/lb/none.js';
import { LB_CHANNELS, LB_FACTORIES, lbContext, lbDriver, lbHost } from '../../src/lb/registry.js';
import type { LbContext } from '../../src/lb/types.js';
import { render, type Command } from '../../src/remote/tokens.js';
import type { ExecResult, NodeSession } from '../../src/transport/types.js';
import { haproxyApi, nginxReload, nginxWorkers, userCommand, writeFile } from '../../src/remote/lb-commands.js';

describe('haproxy runtime API', () => {
  const csv =
    '# pxname,svname,qcur,qmax,scur,smax,slim,stot,bin,bout,dreq,dresp,ereq,econ,eresp,wretr,wredis,status,weight\n' +
    'www,FRONTEND,,,3,10,,,,,,,,,,,,OPEN,\napp,node1,0,0,2,5,,,,,,,,,,,,UP,1\napp,node2,0,0,0,1,,,,,,,,,,,,DRAIN,0\n' +
    'app,node3,0,0,0,0,,,,,,,,,,,,MAINT,1\napp,node4,0,0,0,0,,,,,,,,,,,,DOWN,1\n';

  it('parses show stat by column name', () => {
    const rows = parseShowStat(csv);
    expect(rows.get('app/node1')).toEqual({ status: 'UP', scur: 2 });
    expect(rows.get('app/node2')).toEqual({ status: 'DRAIN', scur: 0 });
  });

  it('maps status to admin state and health', () => {
    expect(toServerState({ status: 'UP', scur: 2 })).toEqual({ admin: 'ready', up: true, sessions: 2 });
    expect(toServerState({ status: 'DRAIN', scur: 0 })).toEqual({ admin: 'drain', up: true, sessions: 0 });
    expect(toServerState({ status: 'MAINT', scur: 0 })).toMatchObject({ admin: 'maint', up: false });
    expect(toServerState({ status: 'DOWN', scur: 0 })).toMatchObject({ admin: 'ready', up: false });
  });

  const SHOW = 'show stat;show servers state app';
  it('a whole group waiting on HAProxy shares one `show stat` per poll, and never one read before a change', async () => {
    const lines: string[] = [];
    const run = async (_c: Command, stdin?: string) => {
      lines.push(stdin!.trim());
      await new Promise((resolve) => setTimeout(resolve, 2));
      return { code: 0, stdout: stdin!.startsWith('show') ? csv.replace(',2,5,', ',0,5,') : '', stderr: '' };
    };
    const settings = { socket: '/s', backend: 'app', serverOf: (n: NodeSpec) => n.name, now: () => new Date() };
    const driver = new HaproxyDriver(run, { ...settings, sleep: async () => undefined });
    const nodes = ['node1', 'node2'].map((name) => ({ name }) as NodeSpec);
    const group = Array.from({ length: 30 }, () => nodes);
    await Promise.all(group.map(([a]) => driver.waitDrained(a!, 1000)));
    expect(lines.filter((l) => l === SHOW)).toHaveLength(1);
    // A read that started before a drain is not handed to a waiter after it.
    const before = driver.states(nodes);
    await driver.drain(nodes[1]!);
    await Promise.all([before, driver.states(nodes)]);
    expect(lines.slice(1)).toEqual([SHOW, 'set server app/node2 state drain', SHOW]);
  });

  it('takes the admin state from `show servers state`: a drained server that went down is still drained', () => {
    const state = [
      '1',
      '# be_id be_name srv_id srv_name srv_addr srv_op_state srv_admin_state srv_uweight',
      '2 app 1 node1 127.0.0.1 0 8 1',
      '2 app 2 node2 127.0.0.1 2 0 1',
      '2 app 3 node3 127.0.0.1 0 1 1',
    ].join('\n');
    const admin = parseServersState(`${csv}\n${state}\n`);
    expect(Object.fromEntries(admin)).toEqual({ node1: 8, node2: 0, node3: 1 });
    expect(toServerState({ status: 'DOWN', scur: 0 }, 8)).toEqual({ admin: 'drain', up: false, sessions: 0 });
    expect(toServerState({ status: 'DOWN', scur: 0 }, 1)).toMatchObject({ admin: 'maint' });
    expect(toServerState({ status: 'UP', scur: 0 }, 0)).toMatchObject({ admin: 'ready', up: true });
  });

  it('reaches the socket through socat, unix or TCP', () => {
    expect(render(haproxyApi('/run/haproxy/admin.sock'))).toBe('socat -t 5 stdio unix-connect:/run/haproxy/admin.sock');
    expect(render(haproxyApi('10.0.0.5:9999'))).toBe('socat -t 5 stdio tcp:10.0.0.5:9999');
  });
});

describe('nginx upstream file', () => {
  const text =
    'upstream app {\n    server 127.0.0.1:8101;\n    server 127.0.0.1:8102 weight=2;\n    server 127.0.0.1:81020;\n}\n';

  it('marks exactly one server down and back, keeping its parameters', () => {
    const down = setDown(text, '127.0.0.1:8102', true)!;
    expect(down).toContain('server 127.0.0.1:8102 weight=2 down;');
    expect(down).toContain('server 127.0.0.1:81020;');
    expect(serversIn(down).get('127.0.0.1:8102')).toBe(true);
    expect(setDown(down, '127.0.0.1:8102', false)).toBe(text);
    expect(setDown(text, '127.0.0.1:9999', true)).toBeUndefined();
  });

  it('restores the original file at the end of a run, with the nodes the run leaves out still down', async () => {
    let file = text;
    const run = async (command: Command, stdin?: string) => {
      const line = render(command);
      if (line === 'cat /nginx.pid') return { code: 0, stdout: '42\n', stderr: '' };
      if (line === 'cat /up.conf') return { code: 0, stdout: file, stderr: '' };
      if (line.startsWith('cat >')) file = stdin!;
      return { code: 0, stdout: '', stderr: '' };
    };
    const node = (name: string, port: number) =>
      ({ name, vars: { lbServer: `127.0.0.1:${port}` } }) as unknown as NodeSpec;
    const [a, b] = [node('a', 8101), node('b', 8102)];
    const settings = {
      upstreamFile: '/up.conf',
      pidFile: '/nginx.pid',
      sleep: async () => undefined,
      now: () => new Date(),
    };
    const driver = new NginxDriver(run, { ...settings, serverOf: (n) => String(n.vars.lbServer) });
    await driver.drain(a);
    await driver.drain(b);
    await driver.undrain(a);
    await driver.restore([b]);
    expect(file).toBe(setDown(text, '127.0.0.1:8102', true));
    await driver.restore();
    expect(file).toBe(setDown(text, '127.0.0.1:8102', true));
  });

  it('reloads only after nginx -t passed, and writes files atomically', () => {
    expect(render(nginxReload('/p', '/p/nginx.conf'))).toBe(
      'nginx -p /p -c /p/nginx.conf -t -q && nginx -p /p -c /p/nginx.conf -s reload',
    );
    expect(render(nginxReload(undefined, undefined))).toBe('nginx -t -q && nginx -s reload');
    expect(render(writeFile('/etc/nginx/up.conf'))).toBe(
      'cat > /etc/nginx/.up.conf.relink-tmp && mv -f /etc/nginx/.up.conf.relink-tmp /etc/nginx/up.conf',
    );
    expect(render(nginxWorkers(42))).toBe('pgrep -P 42 || true');
  });
});

describe('command driver', () => {
  it('passes node facts as quoted environment values', () => {
    expect(
      render(userCommand('aws elbv2 deregister-targets --targets Id=$RELINK_NODE', { RELINK_NODE: "web'1" })),
    ).toBe("env 'RELINK_NODE=web'\\''1' sh -c 'aws elbv2 deregister-targets --targets Id=$RELINK_NODE'");
  });
});

const web1: NodeSpec = {
  name: 'web1',
  address: '10.0.0.1',
  port: 22,
  user: 'deploy',
  roles: [],
  vars: { appPort: 8101 },
};
const common = { drainTimeoutMs: 1000, serveTimeoutMs: 1000, minServing: 1, exclude: [] };

/** A driver context whose runner answers from `answer` and records what it ran; the clock moves only on sleep. */
function fakeContext(answer: (command: string, stdin?: string) => Partial<ExecResult>) {
  const ran: string[] = [];
  let t = 0;
  const context: LbContext = {
    run: async (command: Command, stdin?: string) => {
      ran.push(render(command));
      return { code: 0, stdout: '', stderr: '', ...answer(render(command), stdin) };
    },
    path: (file) => `/inv/${file}`,
    sleep: async (ms) => {
      t += ms;
    },
    now: () => new Date(t),
    render: (template, node) => template.replace('{{ node.address }}', node.address),
    env: (node) => ({ RELINK_NODE: node.name }),
  };
  return { context, ran, elapsed: () => t };
}

describe('driver registry', () => {
  it('has a factory for every driver name, and no section means no load balancer', () => {
    expect(Object.keys(LB_FACTORIES).sort()).toEqual([...LB_DRIVERS].sort());
    expect(lbDriver(undefined, fakeContext(() => ({})).context)).toBeInstanceOf(NoLb);
    expect(lbDriver({ driver: 'none', ...common } as LbSpec, fakeContext(() => ({})).context)).toBeInstanceOf(NoLb);
  });

  it('builds haproxy: a TCP socket as written, a path resolved; waitServing gives up at the deadline', async () => {
    const csv = '# pxname,svname,scur,status\napp,web1,0,DOWN\n';
    const { context, ran, elapsed } = fakeContext(() => ({ stdout: csv }));
    const tcp = lbDriver({ driver: 'haproxy', socket: '10.0.0.5:9999', backend: 'app', ...common } as LbSpec, context);
    await tcp.states([web1]);
    const path = { driver: 'haproxy', socket: 'run/admin.sock', backend: 'app', ...common } as LbSpec;
    const unix = lbDriver(path, context);
    expect(unix.kind).toBe('haproxy');
    await expect(unix.waitServing(web1, 1000)).rejects.toThrow(
      'web1: HAProxy does not report it UP 1000 ms after it was put back',
    );
    expect(ran[0]).toBe('socat -t 5 stdio tcp:10.0.0.5:9999');
    expect(ran[1]).toBe('socat -t 5 stdio unix-connect:/inv/run/admin.sock');
    expect(ran.length).toBe(1 + 11);
    expect(elapsed()).toBe(1000);
  });

  it('builds nginx with resolved files and lb.server rendered per node', async () => {
    const upstream = 'server 10.0.0.1:80;\n';
    const { context, ran } = fakeContext((command) => ({ stdout: command.startsWith('cat /inv/up') ? upstream : '' }));
    const spec = { driver: 'nginx', upstreamFile: 'up.conf', pidFile: '/run/p.pid', server: '{{ node.address }}:80' };
    const driver = lbDriver({ ...spec, ...common } as LbSpec, context);
    expect(await driver.states([web1])).toEqual(new Map([['web1', { admin: 'ready', up: true }]]));
    expect(ran).toEqual(['cat /inv/up.conf']);
  });

  it('builds the command driver with the node environment; waitServing retries until the deadline', async () => {
    const { context, ran, elapsed } = fakeContext(() => ({ code: 1 }));
    const spec = { driver: 'command', drain: 'lb-off', undrain: 'lb-on', check: 'lb-check', ...common } as LbSpec;
    const driver = lbDriver(spec, context);
    await expect(driver.waitServing(web1, 1000)).rejects.toThrow('web1: lb check still fails 1000 ms after undrain');
    expect(ran.length).toBe(6);
    expect(ran[0]).toBe('env RELINK_NODE=web1 sh -c lb-check');
    expect(elapsed()).toBe(1000);
    await expect(driver.drain(web1)).rejects.toThrow('web1: lb drain command failed (exit 1)');
  });
});

describe('driver context', () => {
  const facts = { root: '/proj', project: 'hello', env: 'prod', deployTo: '/srv/app', vars: {} };
  const config = facts as unknown as ResolvedConfig;
  const inventory = { env: 'prod', file: 'hosts/prod.yaml', vars: {}, hosts: [web1], groupSize: 1 } as Inventory;
  const clock = { now: () => new Date(0), sleep: async () => undefined };

  it('resolves relative paths beside the inventory on the deploy machine, and leaves them to the LB host', () => {
    const here = lbContext({ config, inventory, clock });
    expect(here.path('run/admin.sock')).toBe('/proj/hosts/run/admin.sock');
    expect(here.path('/run/admin.sock')).toBe('/run/admin.sock');
    const session = {} as NodeSession;
    expect(lbContext({ config, inventory, session, clock }).path('run/admin.sock')).toBe('run/admin.sock');
  });

  it('renders templates and the RELINK_* environment with empty release facts', () => {
    const context = lbContext({ config, inventory, clock });
    expect(context.render('{{ node.address }}:{{ host.appPort }}', web1, 'lb.server')).toBe('10.0.0.1:8101');
    expect(context.env(web1)).toMatchObject({ RELINK_NODE: 'web1', RELINK_RELEASE: '', RELINK_ENV: 'prod' });
  });

  it('runs commands on the deploy machine through sh -c, with stdin', async () => {
    const context = lbContext({ config, inventory, clock });
    expect(await context.run(['echo', "it's here"])).toMatchObject({ code: 0, stdout: "it's here\n" });
    expect(await context.run(['cat'], 'from stdin')).toMatchObject({ code: 0, stdout: 'from stdin' });
  });

  it('runs commands over the LB host session when there is one', async () => {
    const seen: unknown[] = [];
    const exec = async (command: Command, options: unknown) => {
      seen.push([command, options]);
      return { code: 0, stdout: 'ok', stderr: '' };
    };
    const context = lbContext({ config, inventory, session: { exec } as unknown as NodeSession, clock });
    expect((await context.run(['true'], 'in')).stdout).toBe('ok');
    expect(seen).toEqual([[['true'], { stdin: 'in', timeoutMs: 15_000 }]]);
  });

  it('keeps at most LB_CHANNELS commands in flight on the LB host, whatever the group size', async () => {
    let inFlight = 0;
    let most = 0;
    const exec = async () => {
      most = Math.max(most, ++inFlight);
      await new Promise((resolve) => setTimeout(resolve, 5));
      inFlight--;
      return { code: 0, stdout: '', stderr: '' };
    };
    const context = lbContext({ config, inventory, session: { exec } as unknown as NodeSession, clock });
    await Promise.all(Array.from({ length: 40 }, () => context.run(['true'])));
    expect(most).toBe(LB_CHANNELS);
  });

  it('names the LB host as a node', () => {
    expect(lbHost(inventory)).toBeUndefined();
    const lb = { driver: 'none', ...common, host: { address: '10.0.0.9', port: 22, user: 'root' } } as LbSpec;
    const host = { name: 'lb', address: '10.0.0.9', port: 22, user: 'root', roles: [], vars: {} };
    expect(lbHost({ ...inventory, lb })).toEqual(host);
  });
});
