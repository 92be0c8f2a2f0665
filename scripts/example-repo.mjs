#!/usr/bin/env zx
// Turns example/app into a real git repository with a short history and the
// tags v1.0.0, v1.1.0 and v1.2.0, for the demo and the tests.
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
