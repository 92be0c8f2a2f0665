// The working example: deploys the bundled app (example/app, turned into a
// git repository with tags by scripts/example-repo.mjs) to the local sandbox
// cluster started by scripts/sandbox.mjs.
import { defineConfig } from 'relink';

export default defineConfig({
  project: 'hello',
  repo: '.sandbox/example-app',
  deployTo: '/srv/hello',
  keepReleases: 5,
  build: { command: 'node build.mjs' },
  shared: { dirs: ['log'] },
  templates: [{ src: 'templates/app.env', dest: 'app.env' }],
  vars: { greeting: 'hello' },
  secrets: ['APP_SECRET'],
  // Outside git: the sandbox writes it; on real machines keep it in a vault or ~/.config.
  secretsFile: '.sandbox/secrets.env',
  restart: { command: 'sh bin/restart.sh', timeoutMs: 15_000 },
  // Undoing a node's first deploy stops the app there, so nothing serves from a release that is gone.
  stop: { command: 'sh bin/stop.sh', timeoutMs: 15_000 },
  smoke: {
    url: 'http://{{ node.address }}:{{ host.appPort }}/health',
    expectBody: '"version":"{{ version }}"',
    retries: 50,
    intervalMs: 100,
  },
  // rsync: unchanged files are hard-linked from the current release (tar is the default).
  rollout: { parallel: 10, onFailure: 'rollback', upload: 'rsync' },
  ssh: { identityFile: '.sandbox/id_ed25519', knownHostsFile: '.sandbox/known_hosts' },
  environments: {
    dev: { deployTo: '/srv/hello-dev', vars: { greeting: 'hi from dev' } },
    test: { deployTo: '/srv/hello-test' },
    pre: { deployTo: '/srv/hello-pre' },
  },
});
