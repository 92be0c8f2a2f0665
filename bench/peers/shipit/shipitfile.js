// shipit-cli + shipit-deploy peer for `npm run bench`: the same app, nodes and
// restart script as relink, deployed the shipit way (local checkout, rsync).
const fs = require('node:fs');
const path = require('node:path');

module.exports = (shipit) => {
  require('shipit-deploy')(shipit);
  const sandbox = process.env.BENCH_SANDBOX;
  const state = JSON.parse(fs.readFileSync(path.join(sandbox, 'sandbox.json'), 'utf8'));
  const nodes = state.nodes.slice(0, Number(process.env.BENCH_NODES ?? 10));
  const deployTo = process.env.BENCH_DEPLOY_TO;

  shipit.initConfig({
    default: {
      repositoryUrl: process.env.BENCH_REPO,
      branch: process.env.TAG,
      deployTo,
      keepReleases: 5,
      // shipit's recommended setting: a fresh temporary workspace per deploy.
      shallowClone: true,
      key: path.join(sandbox, 'id_ed25519'),
      // shipit's rsync always passes --compress; on a LAN with incompressible assets a competent user turns it
      // off (compressing 20 MB of random data per node costs seconds of CPU and saves nothing).
      deploy: { remoteCopy: { rsync: ['--del', '--no-compress'] } },
      strict: 'yes',
    },
    bench: {
      servers: nodes.map((n) => ({
        user: 'root',
        host: n.address,
        port: n.sshPort,
        // shipit runs one ssh per command per server: without connection sharing each pays a full
        // handshake (~0.25 s of CPU here), so a competent user turns ControlMaster on, as Ansible does.
        extraSshOptions: {
          UserKnownHostsFile: path.join(sandbox, 'known_hosts'),
          BatchMode: 'yes',
          ControlMaster: 'auto',
          ControlPath: '/tmp/shipit-bench-%C',
          ControlPersist: '60',
        },
      })),
    },
  });

  // Build in the local workspace before the upload, as a shipit user would.
  shipit.on('fetched', () => shipit.start('bench:build'));
  shipit.blTask('bench:build', () =>
    shipit.local(`cd ${shipit.workspace} && RELINK_VERSION=${process.env.TAG} node build.mjs`),
  );
  shipit.on('updated', () => shipit.start('bench:link'));
  shipit.blTask('bench:link', () =>
    shipit.remote(
      `ln -sfn ${deployTo}/shared/app.env ${shipit.releasePath}/app.env && mkdir -p ${deployTo}/shared/log && ln -sfn ${deployTo}/shared/log ${shipit.releasePath}/log`,
    ),
  );
  shipit.on('published', () => shipit.start('bench:restart'));
  shipit.on('rollbacked', () => shipit.start('bench:restart'));
  shipit.blTask('bench:restart', () =>
    shipit.remote(`cd ${deployTo}/current && RELINK_DEPLOY_TO=${deployTo} sh bin/restart.sh`),
  );
};
