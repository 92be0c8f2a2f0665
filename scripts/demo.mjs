#!/usr/bin/env zx
// The demo a newcomer runs after `git clone`: starts a 4-node sandbox cluster
// behind HAProxy, makes the example app repository, and deploys v1.0.0, then
// v1.1.0 to prod through the real CLI.
import { $, fs, path } from 'zx';

$.verbose = false;
const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const deploy = path.join(root, 'dist', 'bin', 'deploy.js');
$.cwd = root;

// node1 is prod's pre node: it takes no outside traffic, so HAProxy does not route to it.
await $({ stdio: 'inherit' })`zx scripts/sandbox.mjs up --nodes 4 --outside node1`;
if (!fs.existsSync(path.join(root, '.sandbox', 'example-app', '.git'))) {
  await $({ stdio: 'inherit' })`zx scripts/example-repo.mjs --dir .sandbox/example-app`;
}
// The one secret the example templates use; it lives outside git, as real ones must.
const secrets = path.join(root, '.sandbox', 'secrets.env');
if (!fs.existsSync(secrets))
  await fs.writeFile(secrets, `APP_SECRET=demo-${Math.random().toString(36).slice(2)}\n`, { mode: 0o600 });

for (const version of ['v1.0.0', 'v1.1.0']) {
  console.log(`\n$ deploy prod ${version}`);
  await $({ stdio: 'inherit' })`node ${deploy} prod ${version}`;
}
const answer = await (await fetch('http://127.0.0.1:8080/')).text();
console.log(`
HAProxy now serves: ${answer.trim()}

Try:
  curl http://127.0.0.1:8080/                  # the app through HAProxy
  npx deploy plan prod v1.2.0                  # what the next release would do
  npx deploy prod v1.2.0                       # release it
  npm run sandbox -- status                    # the sandbox nodes
  npm run sandbox -- down                      # stop everything
`);
