import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { httpText, onNode, Project, readSandbox, stopApps, type Sandbox } from '../helpers/project.js';

let sb: Sandbox;
const NODES = ['node1', 'node2', 'node3', 'node4'];

beforeAll(() => {
  sb = readSandbox(inject('sandboxDir'));
});

/** The app of v1.3.0 on: GET /db answers db.json, POST /db writes it as most apps do, by temp file + rename. */
function writesByRename(repo: string): void {
  const file = path.join(repo, 'server.js');
  const route = `  if (req.url === '/db') {
    const db = path.join(root, 'db.json');
    if (req.method !== 'POST') return void res.end(fs.readFileSync(db, 'utf8'));
    let body = '';
    req.on('data', (d) => (body += d));
    req.on('end', () => {
      fs.writeFileSync(db + '.tmp', body);
      fs.renameSync(db + '.tmp', db);
      res.end('saved\\n');
    });
    return;
  }
  const slow =`;
  fs.writeFileSync(file, fs.readFileSync(file, 'utf8').replace('  const slow =', route));
}

describe('state that survives, on a 4-node sandbox', () => {
  let project: Project;
  const versions = () => NODES.map((n) => project.current(n)?.match(/_(v[\d.]+)_/)?.[1] ?? 'none');
  const releases = () => NODES.map((n) => project.releases(n).length);
  const node1 = () => sb.nodes.find((n) => n.name === 'node1')!;
  const shared = (node: string, ...parts: string[]) => project.nodePath(node, 'shared', ...parts);

  beforeAll(async () => {
    stopApps(sb);
    project = new Project(sb);
    expect((await project.deploy(['prod', 'v1.0.0'])).code).toBe(0);
    // The data file becomes shared, and the app keeps its data there.
    const config = project.configFile;
    const text = fs.readFileSync(config, 'utf8');
    fs.writeFileSync(
      config,
      text.replace("shared: { dirs: ['log'] }", "shared: { dirs: ['log'], files: ['db.json'] }"),
    );
    project.tag('v1.3.0', writesByRename, 'a data file, written by rename');
    project.tag('v1.4.0', (repo) => fs.appendFileSync(path.join(repo, 'CHANGELOG.md'), '- v1.4.0\n'));
  });
  afterAll(() => {
    stopApps(sb);
    project.remove();
  });

  it('a shared file missing: deploy, plan and doctor exit 2 before any upload, one line per node and file', async () => {
    const before = releases();
    const deploy = await project.deploy(['prod', 'v1.3.0']);
    expect(deploy.code).toBe(2);
    for (const node of NODES)
      expect(deploy.stderr).toContain(
        `\n  ${node}: shared file db.json is missing: ${project.deployTo}/shared/db.json\n`,
      );
    expect(deploy.stderr).toMatch(/\nnext: create each file on its node, .*touch .*shared\.dirs/);
    // The message quotes no shell command, and the next step is said once.
    expect(deploy.stderr).not.toMatch(/&&|\|\||2>\/dev\/null/);
    expect(deploy.stderr.match(/next:/g)).toHaveLength(1);
    expect(releases()).toEqual(before);
    expect(versions()).toEqual(['v1.0.0', 'v1.0.0', 'v1.0.0', 'v1.0.0']);

    const plan = await project.deploy(['plan', 'prod', 'v1.3.0']);
    expect(plan.code).toBe(2);
    expect(plan.stderr).toContain(`  node3: shared file db.json is missing: ${project.deployTo}/shared/db.json`);
    const doctor = await project.deploy(['doctor', 'prod']);
    expect(doctor.code).toBe(2);
    expect(doctor.stdout).toMatch(/node2 +shared file +FAIL +shared file db\.json is missing: .*\(create it first\)/);
    expect(releases()).toEqual(before);
    expect(NODES.map((n) => project.lockExists(n))).toEqual([false, false, false, false]);
  });

  it('a link the app replaced by rename: the next deploy refuses (exit 3) before any node moves', async () => {
    for (const node of NODES) onNode(sb, node, `printf '{"todos":[]}' > ${project.deployTo}/shared/db.json`);
    expect((await project.deploy(['prod', 'v1.3.0'])).code).toBe(0);
    const app = `http://${node1().address}:${node1().appPort}/db`;
    const todo = '{"todos":[{"id":1,"title":"survives the deploy"}]}';
    expect(await (await fetch(app, { method: 'POST', body: todo })).text()).toBe('saved\n');
    const running = project.nodePath('node1', project.current('node1')!, 'db.json');
    expect(fs.lstatSync(running).isFile()).toBe(true);
    // What deploy would otherwise link: the empty copy.
    expect(fs.readFileSync(shared('node1', 'db.json'), 'utf8')).toBe('{"todos":[]}');

    const before = releases();
    const refused = await project.deploy(['prod', 'v1.4.0']);
    expect(refused.code).toBe(3);
    const size = Buffer.byteLength(todo);
    expect(refused.stderr).toMatch(
      new RegExp(
        `\\n  node1: db\\.json is a regular file \\(${size} bytes, modified \\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d UTC\\), ` +
          `not a link to ${project.deployTo}/shared/db\\.json \\(in hello_prod_v1\\.3\\.0_`,
      ),
    );
    expect(refused.stderr).not.toMatch(/node[234]: db\.json/);
    expect(refused.stderr).toContain('deploy prod v1.4.0 --adopt-shared');
    expect(versions()).toEqual(['v1.3.0', 'v1.3.0', 'v1.3.0', 'v1.3.0']);
    expect(releases()).toEqual(before);

    // status and doctor say it too.
    const status = await project.deploy(['status', 'prod', '--check']);
    expect(status.code).toBe(1);
    expect(status.stdout).toMatch(/SHARED: db\.json is a regular file/);
    const doctor = await project.deploy(['doctor', 'prod']);
    expect(doctor.code).toBe(1);
    expect(doctor.stdout).toMatch(/node1 +shared link +FAIL +db\.json is a regular file/);
    expect(doctor.stdout).toMatch(/node2 +shared +ok/);
  });

  it('--adopt-shared moves the data into shared/, keeps the old copy aside, and the new release serves it', async () => {
    const result = await project.deploy(['prod', 'v1.4.0', '--adopt-shared']);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/node1.*moved db\.json of hello_prod_v1\.3\.0_\S+ into shared\//);
    expect(versions()).toEqual(['v1.4.0', 'v1.4.0', 'v1.4.0', 'v1.4.0']);
    expect(fs.readFileSync(shared('node1', 'db.json'), 'utf8')).toContain('survives the deploy');
    const kept = fs.readdirSync(shared('node1')).filter((f) => /^db\.json\.relink-\d{8}T\d{6}Z$/.test(f));
    expect(kept).toHaveLength(1);
    expect(fs.readFileSync(shared('node1', kept[0]!), 'utf8')).toBe('{"todos":[]}');
    // Served by the new release, from shared/; the old release links it again.
    expect(await httpText(`http://${node1().address}:${node1().appPort}/db`)).toContain('survives the deploy');
    const links = project
      .releases('node1')
      .map((r) => fs.lstatSync(project.nodePath('node1', 'releases', r, 'db.json'), { throwIfNoEntry: false }));
    expect(links.filter(Boolean).every((s) => s!.isSymbolicLink())).toBe(true);
    expect((await project.deploy(['status', 'prod', '--check'])).code).toBe(0);
  });
});
