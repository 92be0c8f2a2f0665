// The sandbox's Prometheus (`sandbox up --prometheus PORT`): Debian's `prometheus` package (installed with
// apt-get when missing, never a downloaded binary), started on 127.0.0.1:PORT with its data under
// <dir>/prometheus. It scrapes every node's app /metrics (job `app`, label `node`) every second, and a
// `deploy serve` (job `relink`) whose address a test writes into relink-targets.json and whose viewer API
// token it writes into relink-token (both read again by Prometheus as they change).
//
// With `{ alertmanager: PORT }` (`sandbox up --alertmanager PORT`) Debian's `prometheus-alertmanager` runs beside it
// on 127.0.0.1:PORT (no cluster, no receiver), and Prometheus evaluates the rules of <dir>/prometheus/rules.yml every
// second and sends what fires there: `AppServerErrors` (a node's app answers 5xx, severity warning) and
// `SandboxFlag`, which fires for each target a test writes into flags.json (a port nobody listens on, so its `up`
// is 0), with the target's labels: a test raises an alert with the labels it wants, and lowers it again.
import { spawn } from 'node:child_process';
import { $, fs, path, sleep } from 'zx';

async function ensurePackage(binary, pkg) {
  if (['/usr/bin', '/usr/sbin', '/bin'].some((d) => fs.existsSync(path.join(d, binary)))) return;
  if (process.getuid?.() !== 0) throw new Error(`missing ${binary}; install it (apt-get install ${pkg})`);
  console.log(`installing ${pkg} ...`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  await $({ env })`apt-get update -qq`;
  await $({ env })`apt-get install -y -qq --no-install-recommends ${pkg}`;
}

const RULES = [
  'groups:',
  '  - name: sandbox',
  '    interval: 1s',
  '    rules:',
  '      - alert: AppServerErrors',
  '        expr: sum by (node, release) (rate(http_requests_total{job="app",status=~"5.."}[15s])) > 0',
  '        labels: { severity: warning }',
  "        annotations: { summary: 'the app answers 5xx' }",
  '      - alert: SandboxFlag',
  '        expr: up{job="flags"} == 0',
  '        for: 0s',
  "        annotations: { summary: 'a flag raised in flags.json' }",
  '',
].join('\n');

/** Starts Debian's Alertmanager on 127.0.0.1:port, its data under home; resolves once it is ready. */
async function startAlertmanager(home, port) {
  await ensurePackage('prometheus-alertmanager', 'prometheus-alertmanager');
  const config = path.join(home, 'alertmanager.yml');
  const receiver = ['route:', '  receiver: none', '  group_wait: 1s', '  group_interval: 1s', '  repeat_interval: 1h'];
  await fs.writeFile(config, [...receiver, 'receivers:', '  - name: none', ''].join('\n'));
  await fs.mkdirp(path.join(home, 'alertmanager'));
  const log = fs.openSync(path.join(home, 'alertmanager.log'), 'a');
  const args = [
    `--config.file=${config}`,
    `--storage.path=${path.join(home, 'alertmanager')}`,
    `--web.listen-address=127.0.0.1:${port}`,
    '--cluster.listen-address=',
  ];
  const child = spawn('prometheus-alertmanager', args, { detached: true, stdio: ['ignore', log, log] });
  child.unref();
  await ready(`http://127.0.0.1:${port}`, child, 'alertmanager', path.join(home, 'alertmanager.log'));
  return { pid: child.pid, port, url: `http://127.0.0.1:${port}` };
}

async function ready(url, child, name, log) {
  for (let i = 0; ; i++) {
    const answer = await fetch(`${url}/-/ready`).catch(() => undefined);
    if (answer?.ok) return;
    if (i === 300 || child.exitCode !== null) {
      try {
        process.kill(child.pid, 'SIGKILL');
      } catch {
        /* gone */
      }
      throw new Error(`${name} did not get ready on ${url}; see ${log}`);
    }
    await sleep(100);
  }
}

/** Waits (at most 30 s) until Prometheus has an `up` sample of every one of `count` app targets. */
async function scrapedOnce(url, count, child, log) {
  const query = `${url}/api/v1/query?query=${encodeURIComponent('count(up{job="app"})')}`;
  for (let i = 0; i < 300; i++) {
    const answer = await fetch(query)
      .then((r) => r.json())
      .catch(() => undefined);
    if (Number(answer?.data?.result?.[0]?.value?.[1]) === count) return;
    await sleep(100);
  }
  await stopPid(child.pid);
  throw new Error(`prometheus did not scrape the ${count} app(s) within 30 s; see ${log}`);
}

export async function startPrometheus(dir, nodes, port, { alertmanager: alertmanagerPort } = {}) {
  await ensurePackage('prometheus', 'prometheus');
  const home = path.join(dir, 'prometheus');
  await fs.remove(home);
  await fs.mkdirp(path.join(home, 'data'));
  const targets = path.join(home, 'relink-targets.json');
  const token = path.join(home, 'relink-token');
  await fs.writeJson(targets, []);
  await fs.writeFile(token, 'none\n', { mode: 0o600 });
  const rules = path.join(home, 'rules.yml');
  const flags = path.join(home, 'flags.json');
  const alertmanager = alertmanagerPort ? await startAlertmanager(home, alertmanagerPort) : undefined;
  const alerting = alertmanager
    ? [
        'rule_files:',
        `  - ${rules}`,
        'alerting:',
        '  alertmanagers:',
        `    - static_configs: [{ targets: ['127.0.0.1:${alertmanagerPort}'] }]`,
      ]
    : [];
  const flagsJob = alertmanager
    ? ['  - job_name: flags', '    file_sd_configs:', `      - files: ['${flags}']`, '        refresh_interval: 1s']
    : [];
  if (alertmanager) {
    await fs.writeFile(rules, RULES);
    await fs.writeJson(flags, []);
  }
  const config = path.join(home, 'prometheus.yml');
  await fs.writeFile(
    config,
    [
      'global:',
      '  scrape_interval: 1s',
      '  scrape_timeout: 1s',
      '  evaluation_interval: 1s',
      ...alerting,
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
      ...flagsJob,
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
      ...(alertmanager ? ['--rules.alert.resend-delay=1s'] : []),
    ],
    { detached: true, stdio: ['ignore', log, log] },
  );
  child.unref();
  const url = `http://127.0.0.1:${port}`;
  try {
    await ready(url, child, 'prometheus', path.join(home, 'prometheus.log'));
    // Prometheus finds its targets a few seconds after it is ready (its discovery sends updates every 5 s):
    // until each node's app was scraped once, a query about them has no data. Returned only once they were.
    await scrapedOnce(url, nodes.length, child, path.join(home, 'prometheus.log'));
  } catch (error) {
    if (alertmanager) await stopPid(alertmanager.pid);
    throw error;
  }
  const alerts = alertmanager ? { alertmanager, rules, flags } : {};
  return { pid: child.pid, port, url, config, targets, token, ...alerts };
}

/** Stops a Prometheus startPrometheus started, and its Alertmanager. */
export async function stopPrometheus(prometheus) {
  await Promise.all([stopPid(prometheus.pid), prometheus.alertmanager && stopPid(prometheus.alertmanager.pid)]);
}

async function stopPid(pid) {
  try {
    process.kill(pid, 'SIGTERM');
  } catch {
    return;
  }
  for (let i = 0; i < 50; i++) {
    try {
      process.kill(pid, 0);
    } catch {
      return;
    }
    await sleep(100);
  }
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    /* gone */
  }
}
