#!/usr/bin/env zx
// Turns example/app into a real git repository with a short history and the
// tags v1.0.0, v1.1.0 and v1.2.0, for the demo and the tests. The app's one
// dependency, prom-client (its /metrics), is vendored into the repository's
// node_modules from this project's own, as the nodes have no registry to
// install from: the release carries it, and the app starts at once.
//
//   zx scripts/example-repo.mjs [--dir .sandbox/example-app]
import { $, argv, fs, path } from 'zx';

$.verbose = false;
const here = path.dirname(new URL(import.meta.url).pathname);
const source = path.join(here, '..', 'example', 'app');
const dir = path.resolve(argv.dir ?? '.sandbox/example-app');

await fs.remove(dir);
await fs.mkdirp(dir);
const git = (...args) => $({ cwd: dir })`git ${args}`;
await git('init', '-q', '-b', 'main');
await git('config', 'user.name', 'Example Dev');
await git('config', 'user.email', 'dev@example.test');
await fs.copy(source, dir);
await vendor(['prom-client', 'tdigest', 'bintrees', '@opentelemetry/api']);

const releases = [
  ['v1.0.0', 'first release of the hello app'],
  ['v1.1.0', 'answer with the release directory'],
  ['v1.2.0', 'log every request'],
];
for (const [tag, subject] of releases) {
  await fs.appendFile(path.join(dir, 'CHANGELOG.md'), `- ${tag}: ${subject}\n`);
  await git('add', '-A');
  await git('commit', '-q', '-m', subject);
  await git('tag', '-a', tag, '-m', tag);
}
console.log(`example app repository: ${dir} (tags ${releases.map(([t]) => t).join(', ')})`);

/** Copies the packages from this project's node_modules, without their tests, docs, maps and type files. */
async function vendor(names) {
  const modules = path.join(here, '..', 'node_modules');
  const dropped = /(^|\/)(test|tests|examples|docs?)(\/|$)|\.(md|map|d\.[cm]?ts|ts)$|(^|\/)Makefile$/;
  for (const name of names) {
    const from = await fs.realpath(path.join(modules, name));
    const filter = (file) => !dropped.test(path.relative(from, file));
    await fs.copy(from, path.join(dir, 'node_modules', name), { filter, dereference: true });
  }
}
