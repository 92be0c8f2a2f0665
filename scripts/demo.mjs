#!/usr/bin/env zx
// The demo a newcomer runs after `git clone`: starts a 4-node sandbox cluster
// behind HAProxy, makes the example app repository, and deploys v1.0.0, then
// v1.1.0 to prod through the real CLI.
//
// It can be re-run in any state: the sandbox is restarted, the example app
// repository is made afresh (so poison records, tags and commits of earlier
// experiments there are gone, and relink's mirror of it follows), a freeze of
// prod left by an experiment is lifted (and said so), and a step that fails
// says which one and exits with its code, without a stack trace.
import { $, fs, path } from 'zx';

$.verbose = false;
const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const deploy = path.join(root, 'dist', 'bin', 'deploy.js');
$.cwd = root;

/** Runs one step with its output on the terminal; a failure ends the demo with the step's exit code. */
async function step(what, run) {
  const result = await run($({ stdio: 'inherit', nothrow: true }));
  if (result.exitCode !== 0) {
    console.error(`\ndemo: ${what} failed (exit ${result.exitCode}); the lines above say why.`);
    console.error('Fix that and run `npm run demo` again: it starts over from any state.');
    process.exit(result.exitCode ?? 1);
  }
  return result;
}

// node1 is prod's pre node: it takes no outside traffic, so HAProxy does not route to it.
await step('starting the sandbox', ($$) => $$`zx scripts/sandbox.mjs up --nodes 4 --outside node1`);
await step('making the example app repository', ($$) => $$`zx scripts/example-repo.mjs --dir .sandbox/example-app`);
// The one secret the example templates use; it lives outside git, as real ones must.
const secrets = path.join(root, '.sandbox', 'secrets.env');
if (!fs.existsSync(secrets))
  await fs.writeFile(secrets, `APP_SECRET=demo-${Math.random().toString(36).slice(2)}\n`, { mode: 0o600 });

// A freeze (`deploy lock prod -m ...`) from an earlier experiment would refuse the demo's deploys.
const unlock = await $({ nothrow: true })`node ${deploy} unlock prod`;
if (unlock.exitCode === 0 && unlock.stdout.startsWith('unlocked')) {
  console.log(`demo: lifted the freeze an earlier experiment left on prod (${unlock.stdout.trim()})`);
}

for (const version of ['v1.0.0', 'v1.1.0']) {
  console.log(`\n$ deploy prod ${version}`);
  await step(`deploy prod ${version}`, ($$) => $$`node ${deploy} prod ${version}`);
}
const answer = await fetch('http://127.0.0.1:8080/')
  .then((response) => response.text())
  .catch((error) => `(no answer: ${error.cause?.message ?? error.message})`);
console.log(`
HAProxy now serves: ${answer.trim()}

Try:
  curl http://127.0.0.1:8080/                  # the app through HAProxy
  npx deploy plan prod v1.2.0                  # what the next release would do
  npx deploy prod v1.2.0                       # release it
  npm run sandbox -- status                    # the sandbox nodes
  npm run sandbox -- down                      # stop everything
`);
