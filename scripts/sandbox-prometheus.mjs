// The sandbox's Prometheus (`sandbox up --prometheus PORT`): Debian's `prometheus` package (installed with
// apt-get when missing, never a downloaded binary), started on 127.0.0.1:PORT with its data under
// <dir>/prometheus. It scrapes every node's app /metrics (job `app`, label `node`) every second, and a
// `deploy serve` (job `relink`) whose address a test writes into relink-targets.json and whose viewer API
// token it writes into relink-token (both read again by Prometheus as they change).
import { spawn } from 'node:child_process';
import { $, fs, path, sleep } from 'zx';

export async function startPrometheus(dir, nodes, port) {
  if (!['/usr/bin', '/usr/sbin', '/bin'].some((d) => fs.existsSync(path.join(d, 'prometheus')))) {
    if (process.getuid?.() !== 0) throw new Error('missing prometheus; install it (apt-get install prometheus)');
    console.log('installing prometheus ...');
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
    await $({ env })`apt-get update -qq`;
    await $({ env })`apt-get install -y -qq --no-install-recommends prometheus`;
  }
  const home = path.join(dir, 'prometheus');
  await fs.remove(home);
  await fs.mkdirp(path.join(home, 'data'));
  const targets = path.join(home, 'relink-targets.json');
  const token = path.join(home, 'relink-token');
  await fs.writeJson(targets, []);
  await fs.writeFile(token, 'none\n', { mode: 0o600 });
  const config = path.join(home, 'prometheus.yml');
  await fs.writeFile(
    config,
    [
      'global:',
      '  scrape_interval: 1s',
      '  scrape_timeout: 1s',
      '  evaluation_interval: 1s',
      'scrape_configs:',
      '  - job_name: app',
      '    static_configs:',
      ...nodes.flatMap((node) => [
        `      - targets: ['${node.address}:${node.appPort}']`,
        `        labels: { node: '${node.name}' }`,
      ]),
      '  - job_name: relink',
      '    authorization:',
      '      type: Bearer',
      `      credentials_file: ${token}`,
      '    file_sd_configs:',
      `      - files: ['${targets}']`,
      '        refresh_interval: 1s',
      '',
    ].join('\n'),
  );
  const log = fs.openSync(path.join(home, 'prometheus.log'), 'a');
  const child = spawn(
    'prometheus',
    [
      `--config.file=${config}`,
      `--storage.tsdb.path=${path.join(home, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--web.enable-lifecycle',
    ],
    { detached: true, stdio: ['ignore', log, log] },
  );
  child.unref();
  for (let i = 0; ; i++) {
    const ready = await fetch(`http://127.0.0.1:${port}/-/ready`).catch(() => undefined);
    if (ready?.ok) break;
    if (i === 300 || child.exitCode !== null)
      throw new Error(`prometheus did not get ready on 127.0.0.1:${port}; see ${path.join(home, 'prometheus.log')}`);
    await sleep(100);
  }
  return { pid: child.pid, port, url: `http://127.0.0.1:${port}`, config, targets, token };
}

/** Stops a Prometheus startPrometheus started. */
export async function stopPrometheus(prometheus) {
  try {
    process.kill(prometheus.pid, 'SIGTERM');
  } catch {
    return;
  }
  for (let i = 0; i < 50; i++) {
    try {
      process.kill(prometheus.pid, 0);
    } catch {
      return;
    }
    await sleep(100);
  }
  try {
    process.kill(prometheus.pid, 'SIGKILL');
  } catch {
    /* gone */
  }
}
