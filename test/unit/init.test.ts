import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createJiti } from 'jiti';
import { parse } from 'yaml';
import { afterAll, describe, expect, it } from 'vitest';
import { answers, parseHost, parseHosts, projectFrom, questions } from '../../src/cli/init-answers.js';
import { HOSTS_SCHEMA_COMMENT, initFiles, withIgnored } from '../../src/cli/init-files.js';
import { resolveConfig } from '../../src/config/load.js';
import { validateInventory, validateUserConfig } from '../../src/config/validate.js';
import { renderTemplate } from '../../src/template/render.js';
import { templateScope } from '../../src/template/scope.js';

const root = path.resolve(import.meta.dirname, '../..');
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'relink-init-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const node = (name: string) => ({ name, address: name });
const flags = { project: 'shop', lb: 'haproxy', hosts: ['app1,app2,app3', 'dev=box1'], user: 'relink' };

describe('deploy init: the answers', () => {
  it('takes the options, then the defaults: project from the directory, /srv/<project>, no LB, user deploy', () => {
    expect(answers({}, 'My Shop!')).toEqual({
      project: 'My-Shop',
      deployTo: '/srv/My-Shop',
      lb: 'none',
      user: 'deploy',
      hosts: { prod: [node('web1'), node('web2')] },
    });
    const a = answers({ ...flags, deployTo: '/opt/shop' }, 'x');
    expect(a).toMatchObject({ project: 'shop', deployTo: '/opt/shop', lb: 'haproxy', user: 'relink' });
    // Only the environments named get nodes: no placeholder host anywhere else.
    expect(a.hosts).toEqual({ dev: [node('box1')], prod: [node('app1'), node('app2'), node('app3')] });
    expect(projectFrom('...')).toBe('app');
  });

  it('refuses a wrong answer as bad input naming the option (exit 2)', () => {
    const wrong = (f: Parameters<typeof answers>[0]) => {
      try {
        answers(f, 'x');
      } catch (error) {
        return { message: (error as Error).message, exitCode: (error as { exitCode?: number }).exitCode };
      }
      return undefined;
    };
    expect(wrong({ project: '-x' })).toEqual({ message: expect.stringMatching(/^--project "-x"/), exitCode: 2 });
    expect(wrong({ deployTo: 'srv/x' })?.message).toMatch(/^--deploy-to "srv\/x": an absolute path/);
    expect(wrong({ deployTo: '/srv/../etc' })?.message).toMatch(/^--deploy-to/);
    expect(wrong({ deployTo: '/srv/a\nb' })?.message).toMatch(/^--deploy-to/);
    expect(wrong({ user: 'Root' })?.message).toMatch(/^--user "Root"/);
    expect(wrong({ hosts: ['a,a'] })?.message).toBe(
      '--hosts a,a: a node is named twice (name them: name=address:port)',
    );
    expect(wrong({ hosts: ['10.0.0.1:2201,10.0.0.1:2202'] })?.message).toMatch(/a node is named twice/);
    expect(wrong({ hosts: ['a b'] })?.message).toMatch(/^--hosts a b: "a b": a host name/);
    expect(wrong({ hosts: ['web1=h:0'] })?.message).toBe(
      '--hosts web1=h:0: "web1=h:0": a port is a number from 1 to 65535',
    );
    expect(wrong({ hosts: ['web1=h:70000'] })?.message).toMatch(/a port is a number/);
    expect(wrong({ hosts: ['web1=h:'] })?.message).toMatch(/a port is a number/);
    expect(wrong({ hosts: ['-x=h'] })?.message).toMatch(/a node name has letters/);
    expect(wrong({ hosts: ['fe80::1'] })?.message).toBe('--hosts fe80::1: "fe80::1": name this node: name=fe80::1');
    expect(wrong({ hosts: ['dev=a;b'] })?.message).toMatch(/^--hosts dev=a;b: "a;b": a host name/);
    expect(wrong({ hosts: [','] })?.message).toBe('--hosts ,: name at least one node');
  });

  it('asks only what no option answered, in order, each default following the answers before it', () => {
    expect(questions({}, 'shop', {}).map((q) => [q.key, q.fallback])).toEqual([
      ['project', 'shop'],
      ['deployTo', '/srv/shop'],
      ['lb', 'none'],
      ['prod', 'web1,web2'],
      ['user', 'deploy'],
    ]);
    expect(questions(flags, 'shop', parseHosts(flags.hosts)).map((q) => q.key)).toEqual(['deployTo']);
    expect(answers({}, 'x', { project: 'p', lb: 'nginx', prod: 'a, b', user: 'u' })).toMatchObject({
      deployTo: '/srv/p',
      lb: 'nginx',
      user: 'u',
      hosts: { prod: [node('a'), node('b')] },
    });
  });

  it('takes name=address:port, keeps the address as the name without one, and IPv6 in brackets', () => {
    expect(parseHost('web1=10.0.0.5:2222')).toEqual({ name: 'web1', address: '10.0.0.5', port: 2222 });
    expect(parseHost('10.0.0.5:2222')).toEqual({ name: '10.0.0.5', address: '10.0.0.5', port: 2222 });
    expect(parseHost('web1=db.example.com')).toEqual({ name: 'web1', address: 'db.example.com' });
    expect(parseHost('v6=[fe80::1]:2201')).toEqual({ name: 'v6', address: 'fe80::1', port: 2201 });
    expect(parseHost('v6=fe80::1')).toEqual({ name: 'v6', address: 'fe80::1' });
    // The old forms: a list for prod, and env=list for another environment; a node named as an env: prod=.
    expect(parseHosts(['a,b', 'pre=p1=127.0.0.1:2201', 'prod=dev=10.0.0.9'])).toEqual({
      pre: [{ name: 'p1', address: '127.0.0.1', port: 2201 }],
      prod: [{ name: 'dev', address: '10.0.0.9' }],
    });
    expect(parseHosts(['qa=a'])).toEqual({ prod: [{ name: 'qa', address: 'a' }] });
    expect(answers({}, 'x', { prod: 'n1=h:2201, n2=h:2202' }).hosts.prod).toEqual([
      { name: 'n1', address: 'h', port: 2201 },
      { name: 'n2', address: 'h', port: 2202 },
    ]);
  });
});

describe('deploy init: the files', () => {
  const files = initFiles(answers(flags, 'x'));
  for (const [file, text] of files) {
    fs.mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
    fs.writeFileSync(path.join(dir, file), text);
  }

  it('writes deploy.config.ts, hosts/<env>.yaml of prod and of each environment named, and templates/app.env', () => {
    expect([...files.keys()]).toEqual(['deploy.config.ts', 'hosts/dev.yaml', 'hosts/prod.yaml', 'templates/app.env']);
    expect([...initFiles(answers({}, 'x')).keys()]).toEqual([
      'deploy.config.ts',
      'hosts/prod.yaml',
      'templates/app.env',
    ]);
  });

  it('a config that loads (import from relink) and validates', async () => {
    const jiti = createJiti(import.meta.url, { alias: { relink: path.join(root, 'src', 'index.ts') }, fsCache: false });
    const loaded = await jiti.import(path.join(dir, 'deploy.config.ts'), { default: true });
    const config = validateUserConfig(loaded, 'deploy.config.ts');
    expect(config).toMatchObject({
      project: 'shop',
      repo: '.',
      deployTo: '/srv/shop',
      secretsFile: 'deploy.secrets.env',
    });
    expect(config.templates).toEqual([{ src: 'templates/app.env', dest: 'app.env' }]);
  });

  it("hosts files that start with the JSON Schema comment, validate, and name the options' nodes", () => {
    const inventories = (['dev', 'prod'] as const).map((env) => {
      const text = files.get(`hosts/${env}.yaml`)!;
      expect(text.split('\n')[0], env).toBe(HOSTS_SCHEMA_COMMENT);
      return validateInventory(parse(text), env, `hosts/${env}.yaml`);
    });
    const prod = inventories[1]!;
    expect(prod).toMatchObject({ pre: 'app1', groupSize: 1, lb: { driver: 'haproxy', backend: 'app' } });
    expect(prod.hosts.map((h) => [h.name, h.address, h.user, h.port, h.vars])).toEqual(
      ['app1', 'app2', 'app3'].map((n) => [n, n, 'relink', 22, { appPort: 3000 }]),
    );
    expect(inventories.map((i) => i.hosts.map((h) => h.name))).toEqual([['box1'], ['app1', 'app2', 'app3']]);
    expect([inventories[0]!.lb, inventories[0]!.pre]).toEqual([undefined, undefined]);
    const ported = initFiles(answers({ hosts: ['n1=127.0.0.1:2201,n2=127.0.0.1:2202', 'test=t1=10.0.0.7'] }, 'x'));
    expect(validateInventory(parse(ported.get('hosts/prod.yaml')!), 'prod', 'prod.yaml')).toMatchObject({
      pre: 'n1',
      hosts: [
        { name: 'n1', address: '127.0.0.1', port: 2201 },
        { name: 'n2', address: '127.0.0.1', port: 2202 },
      ],
    });
    expect(validateInventory(parse(ported.get('hosts/test.yaml')!), 'test', 'test.yaml').hosts).toMatchObject([
      { name: 't1', address: '10.0.0.7', port: 22 },
    ]);
    for (const lb of ['nginx', 'none'] as const) {
      const text = initFiles(answers({ ...flags, lb }, 'x')).get('hosts/prod.yaml')!;
      expect(validateInventory(parse(text), 'prod', 'prod.yaml').lb?.driver).toBe(lb === 'none' ? undefined : lb);
    }
    const single = initFiles(answers({ hosts: ['solo'] }, 'x')).get('hosts/prod.yaml')!;
    expect(validateInventory(parse(single), 'prod', 'prod.yaml').pre).toBeUndefined();
  });

  it('whose schema comment points where the installed package keeps the JSON Schema', () => {
    const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')) as { files: string[] };
    const target = HOSTS_SCHEMA_COMMENT.split('$schema=')[1]!;
    const inPackage = path.relative('node_modules/relink', path.join('hosts', target));
    expect(inPackage).toBe('docs/schema/hosts.schema.json');
    expect(fs.existsSync(path.join(root, inPackage))).toBe(true);
    expect(pkg.files).toContain('docs');
  });

  it('a template every generated node can render', async () => {
    const loaded = (await createJiti(import.meta.url, {
      alias: { relink: path.join(root, 'src', 'index.ts') },
      fsCache: false,
    }).import(path.join(dir, 'deploy.config.ts'), { default: true })) as Parameters<typeof resolveConfig>[0];
    const config = resolveConfig(loaded, 'prod', path.join(dir, 'deploy.config.ts'));
    const inventory = validateInventory(parse(files.get('hosts/prod.yaml')!), 'prod', 'hosts/prod.yaml');
    const facts = { release: 'r', version: 'v1.0.0', commit: 'c', branch: 'main' };
    for (const node of inventory.hosts) {
      const text = renderTemplate(
        files.get('templates/app.env')!,
        templateScope(config, inventory, node, facts),
        'app.env',
      );
      expect(text).toContain(`NODE_NAME=${node.name}\nPORT=3000\n`);
    }
  });

  it('.gitignore: adds what is missing once, keeps the rest', () => {
    expect(withIgnored(undefined)).toBe('# relink: secret values and local state\ndeploy.secrets.env\n.relink/\n');
    expect(withIgnored('node_modules')).toBe(
      'node_modules\n\n# relink: secret values and local state\ndeploy.secrets.env\n.relink/\n',
    );
    expect(withIgnored('/.relink\n')).toBe('/.relink\n\n# relink: secret values and local state\ndeploy.secrets.env\n');
    expect(withIgnored(withIgnored('x\n'))).toBeUndefined();
  });
});

describe('deploy init --service', () => {
  it('writes a service setting that validates and resolves, for either manager; without it a comment', async () => {
    const jiti = createJiti(import.meta.url, { alias: { relink: path.join(root, 'src', 'index.ts') }, fsCache: false });
    for (const manager of ['systemd', 'start-stop-daemon'] as const) {
      const file = path.join(dir, `service-${manager}.config.ts`);
      fs.writeFileSync(file, initFiles(answers({ ...flags, service: manager }, 'x')).get('deploy.config.ts')!);
      const loaded = await jiti.import(file, { default: true });
      const config = resolveConfig(validateUserConfig(loaded, 'deploy.config.ts'), 'prod', file);
      expect(config.service).toMatchObject({ manager, unit: 'shop', start: 'exec npm start', user: true });
    }
    const plain = initFiles(answers(flags, 'x')).get('deploy.config.ts')!;
    expect(plain).toMatch(/^ {2}\/\/ service: \{ manager: 'systemd', unit: 'shop', start: 'exec npm start' \},/m);
    expect(initFiles(answers({ ...flags, service: 'none' }, 'x')).get('deploy.config.ts')).toBe(plain);
    expect(() => answers({ service: 'runit' }, 'x')).toThrow('--service "runit": systemd, start-stop-daemon or none');
  });
});
