#!/usr/bin/env zx
// The local sandbox cluster: N real OpenSSH nodes on 127.0.0.1, each in its
// own mount and PID namespace with its own /srv and /root, and HAProxy in
// front of the app ports. Nodes named in --netns get a network namespace of
// their own, reached over a veth pair at 10.213.x.y, so `tc netem` can slow
// one node's network and nothing else. Nodes named in --behind-jump get one
// too, linked only to a jump node (an sshd in a namespace of its own): this
// machine reaches them through the jump node's sshd and not otherwise.
//
//   zx scripts/sandbox.mjs up [--nodes 4] [--dir .sandbox] [--ssh-port 2201] [--outside node1]
//                             [--app-port 8101] [--lb-port 8080] [--nginx-port 8090]
//                             [--hosts FILE] [--netns node3,node4] [--haproxy-rise 1]
//                             [--behind-jump node2,node3] [--jump-port <ssh-port + nodes>]
//                             [--prometheus PORT] (Prometheus scraping every node's app: sandbox-prometheus.mjs)
//                             [--alertmanager PORT] (with --prometheus: an Alertmanager it sends its alerts to)
//   zx scripts/sandbox.mjs down [--dir .sandbox]
//   zx scripts/sandbox.mjs status [--dir .sandbox]
//   zx scripts/sandbox.mjs kill-node --name N | start-node --name N | restart-node --name N
//
// Each node has its own crontab spool (/var/spool/cron/crontabs bind-mounted from its dir), so `crontab`
// run on a node writes that node's crontab. restart-node is a reboot: every process of the node dies with
// its namespaces, then it runs what a node runs at boot, and only that: its sshd, and the `@reboot` lines
// of its users' crontabs, each as its user, the way cron runs them (sh -c, HOME, LOGNAME, SHELL=/bin/sh,
// PATH=/usr/bin:/bin and the crontab's own variables). Nothing else is started again.
import { spawn } from 'node:child_process';
import net from 'node:net';
import { $, argv, fs, path, sleep } from 'zx';
import { startPrometheus } from './sandbox-prometheus.mjs';

$.verbose = false;

const dir = path.resolve(argv.dir ?? process.env.RELINK_SANDBOX ?? '.sandbox');
const stateFile = path.join(dir, 'sandbox.json');
const PACKAGES = {
  sshd: 'openssh-server',
  haproxy: 'haproxy',
  rsync: 'rsync',
  socat: 'socat',
  nginx: 'nginx',
  ip: 'iproute2',
  curl: 'curl',
  crontab: 'cron',
};

const verb = argv._[0] ?? 'status';
if (verb === 'up') await up();
else if (verb === 'down') await down();
else if (verb === 'status') await status();
else if (verb === 'kill-node') await killNode(argv.name);
else if (verb === 'start-node') await startNodeAgain(argv.name);
else if (verb === 'restart-node') await restartNode(argv.name);
else {
  console.error(
    `sandbox: unknown command "${verb}". Use: up, down, status, kill-node --name N, start-node --name N, restart-node --name N`,
  );
  process.exit(2);
}

async function up() {
  const count = Number(argv.nodes ?? 4);
  if (!Number.isInteger(count) || count < 1 || count > 200)
    fail(`--nodes must be a whole number from 1 to 200, got ${argv.nodes}`);
  if (fs.existsSync(stateFile)) await down({ quiet: true });
  await ensurePackages();
  const sshBase = Number(argv['ssh-port'] ?? 2201);
  const appBase = Number(argv['app-port'] ?? 8101);
  const lbPort = Number(argv['lb-port'] ?? 8080);
  const nginxPort = Number(argv['nginx-port'] ?? lbPort + 10);
  const isolated = new Set(
    String(argv.netns ?? '')
      .split(',')
      .filter(Boolean),
  );
  // Nodes the load balancers do not route to (a pre node that takes no outside traffic).
  const outside = new Set(
    String(argv.outside ?? '')
      .split(',')
      .filter(Boolean),
  );
  for (const name of isolated)
    if (!/^node\d+$/.test(name) || Number(name.slice(4)) > count)
      fail(`--netns: no node "${name}" among node1..node${count}`);
  if (isolated.size && process.getuid?.() !== 0) fail('--netns needs root (ip netns, veth)');
  const behind = behindJumpOption(count, isolated);
  if (argv.alertmanager && !argv.prometheus) fail('--alertmanager needs --prometheus (the alerts come from it)');
  const promPort = argv.prometheus ? [Number(argv.prometheus)] : [];
  if (argv.alertmanager) promPort.push(Number(argv.alertmanager));
  const ports = [
    lbPort,
    nginxPort,
    ...promPort,
    ...Array.from({ length: count }, (_, i) => [sshBase + i, appBase + i]).flat(),
  ];
  // Processes of a sandbox just stopped die with their namespace a moment later.
  let busy = [];
  for (let i = 0; i < 30; i++) {
    busy = [];
    for (const port of ports) if (await portOpen(port)) busy.push(port);
    if (busy.length === 0) break;
    await sleep(100);
  }
  if (busy.length)
    fail(
      `port${busy.length > 1 ? 's' : ''} ${busy.join(', ')} already in use (another sandbox? stop it with its own "sandbox down", or pick --ssh-port/--app-port/--lb-port)`,
    );

  await fs.mkdirp(path.join(dir, 'nodes'));
  await fs.mkdirp('/srv');
  const key = path.join(dir, 'id_ed25519');
  if (!fs.existsSync(key)) await $`ssh-keygen -q -t ed25519 -N ${''} -C relink-sandbox -f ${key}`;
  const clientKey = (await fs.readFile(`${key}.pub`, 'utf8')).trim();
  await ensureUser('relink', clientKey);
  await fs.mkdirp('/run/sshd');
  const nodes = [];
  const knownHosts = [];
  const jump = behind.size ? await createJump(Number(argv['jump-port'] ?? sshBase + count), knownHosts) : undefined;
  for (let i = 1; i <= count; i++) {
    const name = `node${i}`;
    const nodeDir = path.join(dir, 'nodes', name);
    const sshPort = sshBase + i - 1;
    const appPort = appBase + i - 1;
    await fs.mkdirp(path.join(nodeDir, 'srv'));
    // The node's /srv belongs to the ordinary deploy user, as a real host's deploy directory would.
    if (process.getuid?.() === 0) await $`chown relink: ${path.join(nodeDir, 'srv')}`;
    await fs.mkdirp(path.join(nodeDir, 'root'));
    await crontabSpool(nodeDir);
    const hostKey = path.join(nodeDir, 'ssh_host_ed25519_key');
    if (!fs.existsSync(hostKey)) await $`ssh-keygen -q -t ed25519 -N ${''} -C ${name} -f ${hostKey}`;
    // root's home is the node's own /root; its key goes where sshd looks by default.
    await fs.mkdirp(path.join(nodeDir, 'root', '.ssh'), { mode: 0o700 });
    await fs.writeFile(path.join(nodeDir, 'root', '.ssh', 'authorized_keys'), `${clientKey}\n`, { mode: 0o600 });
    const net = isolated.has(name)
      ? await createNetns(sshPort)
      : behind.has(name)
        ? await createBehindJump(sshPort, jump)
        : undefined;
    const address = net?.address ?? '127.0.0.1';
    await fs.writeFile(path.join(nodeDir, 'sshd_config'), sshdConfig(nodeDir, address, sshPort));
    const pub = (await fs.readFile(`${hostKey}.pub`, 'utf8')).trim().split(' ').slice(0, 2).join(' ');
    knownHosts.push(`[${address}]:${sshPort} ${pub}`);
    // Behind the jump node the host end of the veth pair is in the jump node's namespace, not here.
    const link = behind.has(name) ? { behindJump: true } : { veth: net?.veth };
    nodes.push({ name, address, sshPort, appPort, dir: nodeDir, ...(net ? { netns: net.netns, ...link } : {}) });
  }
  await fs.writeFile(path.join(dir, 'known_hosts'), `${knownHosts.join('\n')}\n`);

  for (const node of nodes) node.pid = startNode(node);
  if (jump) jump.pid = startNode(jump);
  const all = jump ? [...nodes, jump] : nodes;
  await Promise.all(all.map((node) => waitForNode(node, jump)));

  // The load balancers run on this machine, which cannot reach the nodes behind the jump node.
  const pooled = nodes.filter((node) => !outside.has(node.name) && !node.behindJump);
  const haproxy = await startHaproxy(pooled, lbPort);
  const nginx = await startNginx(pooled, nginxPort, await artifactSite(nodes, nginxPort));
  const alerting = argv.alertmanager ? { alertmanager: Number(argv.alertmanager) } : {};
  const prometheus = argv.prometheus ? await startPrometheus(dir, nodes, Number(argv.prometheus), alerting) : undefined;
  const state = {
    dir,
    lbPort,
    haproxy,
    nginx,
    nodes,
    ...(jump ? { jump } : {}),
    ...(prometheus ? { prometheus } : {}),
  };
  await fs.writeJson(stateFile, state, { spaces: 2 });
  if (argv.hosts) await writeHosts(argv.hosts, state);
  if (prometheus) console.log(`prometheus on ${prometheus.url}/ scraping every node's app /metrics`);
  if (prometheus?.alertmanager)
    console.log(
      `alertmanager on ${prometheus.alertmanager.url}/ (rules: ${prometheus.rules}, flags: ${prometheus.flags})`,
    );
  console.log(
    `sandbox up: ${count} node(s), ssh ${sshBase}-${sshBase + count - 1}, app ${appBase}-${appBase + count - 1}, HAProxy on http://127.0.0.1:${lbPort}/, nginx on http://127.0.0.1:${nginxPort}/`,
  );
  if (jump)
    console.log(`jump node on ${jump.user}@${jump.address}:${jump.sshPort}, in front of ${[...behind].join(', ')}`);
}

function sshdConfig(nodeDir, address, port) {
  return [
    `Port ${port}`,
    `ListenAddress ${address}`,
    `HostKey ${nodeDir}/ssh_host_ed25519_key`,
    `PidFile ${nodeDir}/sshd.pid`,
    'PermitRootLogin prohibit-password',
    'PubkeyAuthentication yes',
    'PasswordAuthentication no',
    'KbdInteractiveAuthentication no',
    'UsePAM no',
    'StrictModes no',
    'UseDNS no',
    'PrintMotd no',
    'MaxSessions 64',
    'MaxStartups 200',
    'LogLevel ERROR',
    'Subsystem sftp internal-sftp',
    '',
  ].join('\n');
}

// A network namespace for one node: a veth pair, the host end 10.213.x.(y+1)
// and the node end 10.213.x.(y+2) on a /30 derived from the node's SSH port,
// so sandboxes on other ports do not collide. The host end is where
// `tc qdisc ... netem` goes to slow the node down. With `outer` the host end
// goes into that namespace instead (a node behind the jump node).
async function createNetns(sshPort, outer) {
  const netns = `relink-${sshPort}`;
  const veth = `rlh${sshPort}`;
  const peer = `rln${sshPort}`;
  const base = (sshPort % 16384) * 4;
  const prefix = `10.213.${base >> 8}`;
  const hostIp = `${prefix}.${(base & 255) + 1}`;
  const address = `${prefix}.${(base & 255) + 2}`;
  await removeNetns(netns);
  await $`ip netns add ${netns}`;
  await $`ip link add ${veth} type veth peer name ${peer}`;
  await $`ip link set ${peer} netns ${netns}`;
  const outside = (...args) => (outer ? $`ip netns exec ${outer} ${args}` : $`${args}`);
  if (outer) await $`ip link set ${veth} netns ${outer}`;
  await outside('ip', 'addr', 'add', `${hostIp}/30`, 'dev', veth);
  await outside('ip', 'link', 'set', veth, 'up');
  const inNs = (...args) => $`ip netns exec ${netns} ${args}`;
  await inNs('ip', 'link', 'set', 'lo', 'up');
  await inNs('ip', 'addr', 'add', `${address}/30`, 'dev', peer);
  await inNs('ip', 'link', 'set', peer, 'up');
  await inNs('ip', 'route', 'add', 'default', 'via', hostIp);
  return { netns, veth, address };
}

// --behind-jump: the named nodes, each in a network namespace linked only to
// the jump node's namespace (which forwards no packets), so from here the
// only way to them is an SSH connection to the jump node that forwards one.
function behindJumpOption(count, isolated) {
  const behind = new Set(
    String(argv['behind-jump'] ?? '')
      .split(',')
      .filter(Boolean),
  );
  for (const name of behind) {
    if (!/^node\d+$/.test(name) || Number(name.slice(4)) > count)
      fail(`--behind-jump: no node "${name}" among node1..node${count}`);
    if (isolated.has(name)) fail(`--behind-jump: ${name} is also in --netns; a node has one network`);
  }
  if (behind.size && process.getuid?.() !== 0) fail('--behind-jump needs root (ip netns, veth)');
  return behind;
}

// The jump node: an sshd in a namespace of its own, reached from here over a
// veth pair (10.213.x.y from its port, like a node's), logged in to as the
// ordinary user relink. Its log (LogLevel INFO) has one line per login.
async function createJump(sshPort, knownHosts) {
  const jumpDir = path.join(dir, 'jump');
  await fs.mkdirp(path.join(jumpDir, 'srv'));
  await fs.mkdirp(path.join(jumpDir, 'root'));
  const net = await createNetns(sshPort);
  await $`ip netns exec ${net.netns} sysctl -qw net.ipv4.ip_forward=0`;
  const hostKey = path.join(jumpDir, 'ssh_host_ed25519_key');
  if (!fs.existsSync(hostKey)) await $`ssh-keygen -q -t ed25519 -N ${''} -C jump -f ${hostKey}`;
  const config = sshdConfig(jumpDir, net.address, sshPort).replace('LogLevel ERROR', 'LogLevel INFO');
  await fs.writeFile(path.join(jumpDir, 'sshd_config'), config);
  const pub = (await fs.readFile(`${hostKey}.pub`, 'utf8')).trim().split(' ').slice(0, 2).join(' ');
  knownHosts.push(`[${net.address}]:${sshPort} ${pub}`);
  return {
    name: 'jump',
    user: 'relink',
    address: net.address,
    sshPort,
    dir: jumpDir,
    netns: net.netns,
    veth: net.veth,
  };
}

// A node behind the jump node: its veth pair runs to the jump node's namespace.
// This machine's default route would still send packets for its address out
// to the real network (where a gateway might even answer): an unreachable
// route keeps them here, as on a deploy machine outside a private network.
async function createBehindJump(sshPort, jump) {
  const net = await createNetns(sshPort, jump.netns);
  await $`ip route replace unreachable ${net.address}/32`;
  return net;
}

async function removeBehindJump(node) {
  await $`ip route del unreachable ${node.address}/32`.nothrow().quiet();
}

// A node behind the jump node is checked from inside the jump node's namespace.
function nodeListening(node, jump) {
  if (!node.behindJump) return portOpen(node.sshPort, node.address);
  return $`ip netns exec ${jump.netns} socat -T1 /dev/null TCP:${node.address}:${node.sshPort},connect-timeout=1`
    .nothrow()
    .quiet()
    .then((r) => r.exitCode === 0);
}

async function waitForNode(node, jump) {
  for (let i = 0; i < 100; i++) {
    if (await nodeListening(node, jump)) return;
    await sleep(50);
  }
  fail(`sshd of ${node.name} did not start listening on ${node.address}:${node.sshPort}; see ${dir}`);
}

// Deleting the namespace takes its end of the veth pair, and with it the host end.
async function removeNetns(netns) {
  await $`ip netns delete ${netns}`.nothrow().quiet();
}

// The node's own crontab spool, empty at `up` (a new node), owned as Debian's: root:crontab, mode 1730.
async function crontabSpool(nodeDir) {
  const spool = path.join(nodeDir, 'crontabs');
  await fs.remove(spool);
  await fs.mkdirp(spool);
  if (process.getuid?.() !== 0) return;
  await $`chown root:crontab ${spool}`.nothrow();
  await fs.chmod(spool, 0o1730);
}

// sshd runs as PID 1 of a fresh PID namespace: it reaps the node's orphans and
// everything started on the node dies with it when the namespace goes. With
// `boot`, the @reboot lines of the node's crontabs start first, in the background.
function startNode(node, { boot = false } = {}) {
  const log = fs.openSync(path.join(node.dir, 'sshd.log'), 'a');
  const spool = path.join(node.dir, 'crontabs');
  const inner = [
    `mount --bind ${node.dir}/srv /srv`,
    `mount --bind ${node.dir}/root /root`,
    ...(fs.existsSync(spool) && fs.existsSync('/var/spool/cron/crontabs')
      ? [`mount --bind ${spool} /var/spool/cron/crontabs`]
      : []),
    ...(boot ? rebootJobs(spool) : []),
    `exec /usr/sbin/sshd -D -e -f ${node.dir}/sshd_config`,
  ].join(' && ');
  const unshare = [
    'unshare',
    '--mount',
    '--pid',
    '--fork',
    '--mount-proc',
    '--kill-child',
    '--propagation',
    'private',
    'sh',
    '-c',
    inner,
  ];
  // `ip netns exec` enters the node's network namespace and execs unshare in place (same PID).
  const command = node.netns ? ['ip', 'netns', 'exec', node.netns, ...unshare] : unshare;
  const child = spawn(command[0], command.slice(1), { detached: true, stdio: ['ignore', log, log] });
  child.unref();
  return child.pid;
}

async function startHaproxy(nodes, port) {
  const cfg = path.join(dir, 'haproxy.cfg');
  const socket = path.join(dir, 'haproxy.sock');
  const pidFile = path.join(dir, 'haproxy.pid');
  // No retries and no redispatch: a request sent to a node that is going away
  // fails visibly instead of being quietly retried elsewhere.
  const lines = [
    'global',
    `  stats socket ${socket} mode 600 level admin`,
    '  stats timeout 2m',
    'defaults',
    '  mode http',
    '  timeout connect 2s',
    '  timeout client 30s',
    '  timeout server 30s',
    '  retries 0',
    '  no option redispatch',
    // A fresh server connection per request: no keep-alive reuse race that
    // would fail requests on its own; a stopped server still fails visibly.
    '  option http-server-close',
    'frontend www',
    `  bind 127.0.0.1:${port}`,
    '  default_backend app',
    'backend app',
    '  balance roundrobin',
    '  option httpchk GET /health',
    `  default-server inter 1s fall 2 rise ${Number(argv['haproxy-rise'] ?? 1)}`,
    ...nodes.map((node) => `  server ${node.name} ${node.address}:${node.appPort} check`),
    '',
  ];
  await fs.writeFile(cfg, lines.join('\n'));
  await fs.remove(pidFile);
  await $`haproxy -f ${cfg} -D -p ${pidFile}`;
  const pid = Number((await fs.readFile(pidFile, 'utf8')).trim());
  await waitForPort(port, 'HAProxy');
  return { pid, port, socket, config: cfg, backend: 'app' };
}

// nginx on another port, its upstream in an include file that the nginx
// driver edits. proxy_next_upstream off: a failed request is not retried on
// another node, so a gap in service shows.
async function startNginx(nodes, port, artifacts) {
  const prefix = path.join(dir, 'nginx');
  await fs.mkdirp(path.join(prefix, 'logs'));
  const upstream = path.join(prefix, 'upstream.conf');
  const config = path.join(prefix, 'nginx.conf');
  await fs.writeFile(
    upstream,
    ['upstream app {', ...nodes.map((n) => `    server ${n.address}:${n.appPort};`), '}', ''].join('\n'),
  );
  await fs.writeFile(
    config,
    [
      'worker_processes 1;',
      `pid ${prefix}/nginx.pid;`,
      `error_log ${prefix}/logs/error.log warn;`,
      'events { worker_connections 1024; }',
      'http {',
      '  access_log off;',
      `  include ${upstream};`,
      '  server {',
      `    listen 127.0.0.1:${port};`,
      ...artifacts.lines,
      '    location / {',
      '      proxy_pass http://app;',
      '      proxy_next_upstream off;',
      '      proxy_connect_timeout 2s;',
      '    }',
      '  }',
      '}',
      '',
    ].join('\n'),
  );
  await $`nginx -p ${prefix} -c ${config}`;
  await waitForPort(port, 'nginx');
  const pid = Number((await fs.readFile(path.join(prefix, 'nginx.pid'), 'utf8')).trim());
  return { pid, port, prefix, config, upstream, artifacts: artifacts.state };
}

// An artifact store for fan-out by pull: nginx serves <dir>/artifacts under /artifacts/. A node in a
// network namespace of its own reaches this machine at its default gateway (the host end of its veth
// pair), so nginx listens there too; `hosts` says, per node, the address it finds the store at. nginx's
// workers run as nobody: the sandbox dir must let them pass (o+x), the store itself is world-readable.
async function artifactSite(nodes, port) {
  const root = path.join(dir, 'artifacts');
  await fs.mkdirp(root);
  await fs.chmod(root, 0o755);
  await fs.chmod(dir, (await fs.stat(dir)).mode | 0o011);
  const hosts = {};
  for (const node of nodes) {
    hosts[node.name] = '127.0.0.1';
    if (!node.netns || node.behindJump) continue;
    const route = await $`ip -n ${node.netns} route show default`;
    const via = route.stdout.match(/via (\S+)/)?.[1];
    if (via) hosts[node.name] = via;
  }
  const gateways = [...new Set(Object.values(hosts))].filter((ip) => ip !== '127.0.0.1');
  return {
    lines: [
      ...gateways.map((ip) => `    listen ${ip}:${port};`),
      '    location /artifacts/ {',
      `      alias ${root}/;`,
      '    }',
    ],
    state: { dir: root, path: '/artifacts/', hosts },
  };
}

async function writeHosts(file, state) {
  const lines = [
    '# Written by scripts/sandbox.mjs for the local sandbox cluster.',
    'pre: node1',
    'groupSize: 1',
    'lb:',
    '  driver: haproxy',
    `  socket: ${state.haproxy.socket}`,
    `  backend: ${state.haproxy.backend}`,
    'hosts:',
    ...state.nodes.flatMap((node) => [
      `  - name: ${node.name}`,
      `    address: ${node.address}`,
      `    port: ${node.sshPort}`,
      '    user: root',
      '    roles: [app]',
      `    vars: { appPort: ${node.appPort} }`,
      ...(node.behindJump ? [`    proxyJump: ${state.jump.user}@${state.jump.address}:${state.jump.sshPort}`] : []),
    ]),
    '',
  ];
  await fs.mkdirp(path.dirname(path.resolve(file)));
  await fs.writeFile(file, lines.join('\n'));
}

async function down({ quiet = false } = {}) {
  if (!fs.existsSync(stateFile)) {
    if (!quiet) console.log(`sandbox down: nothing running under ${dir}`);
    return;
  }
  const state = await fs.readJson(stateFile);
  const pids = [
    state.haproxy?.pid,
    state.nginx?.pid,
    state.jump?.pid,
    state.prometheus?.pid,
    state.prometheus?.alertmanager?.pid,
    ...state.nodes.map((node) => node.pid),
  ].filter(Boolean);
  for (const pid of pids) signal(pid, 'SIGTERM');
  for (let i = 0; i < 50 && pids.some(alive); i++) await sleep(100);
  for (const pid of pids.filter(alive)) signal(pid, 'SIGKILL');
  for (const node of state.nodes) if (node.netns) await removeNetns(node.netns);
  if (state.jump) await removeNetns(state.jump.netns);
  for (const node of state.nodes) if (node.behindJump) await removeBehindJump(node);
  await fs.remove(stateFile);
  await fs.remove(path.join(dir, 'haproxy.sock'));
  if (!quiet) console.log(`sandbox down: stopped ${pids.length} process(es)`);
}

// A node crash: its sshd namespace dies with everything in it; its /srv stays.
async function killNode(name) {
  const state = await fs.readJson(stateFile);
  const node = state.nodes.find((n) => n.name === name) ?? fail(`no node "${name}"`);
  signal(node.pid, 'SIGKILL');
  for (let i = 0; i < 50 && alive(node.pid); i++) await sleep(20);
  console.log(`sandbox: ${name} killed`);
}

// A reboot: the node dies with everything in it, then boots (sshd and the @reboot lines of its crontabs).
async function restartNode(name) {
  const state = await fs.readJson(stateFile);
  const node = state.nodes.find((n) => n.name === name) ?? fail(`no node "${name}"`);
  signal(node.pid, 'SIGKILL');
  for (let i = 0; i < 250 && alive(node.pid); i++) await sleep(20);
  if (alive(node.pid)) fail(`${name} did not die`);
  node.pid = startNode(node, { boot: true });
  await waitForNode(node, state.jump);
  await fs.writeJson(stateFile, state, { spaces: 2 });
  console.log(`sandbox: ${name} restarted`);
}

// The @reboot jobs of every crontab in the spool, as shell commands run in the background the way cron runs
// them: as the crontab's user in its home, `sh -c` with cron's environment and the crontab's variables.
function rebootJobs(spool) {
  if (!fs.existsSync(spool)) return [];
  const homes = new Map(
    fs
      .readFileSync('/etc/passwd', 'utf8')
      .split('\n')
      .map((line) => line.split(':'))
      .map((f) => [f[0], f[5]]),
  );
  const q = (s) => `'${s.replaceAll("'", "'\\''")}'`;
  const jobs = [];
  for (const user of fs.readdirSync(spool)) {
    const home = homes.get(user);
    if (!home) continue;
    const env = { HOME: home, LOGNAME: user, USER: user, SHELL: '/bin/sh', PATH: '/usr/bin:/bin' };
    for (const line of fs.readFileSync(path.join(spool, user), 'utf8').split('\n')) {
      const assignment = /^\s*([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*)$/.exec(line);
      if (assignment) env[assignment[1]] = assignment[2].replace(/^(["'])(.*)\1$/, '$2');
      const job = /^\s*@reboot\s+(.*)$/.exec(line);
      if (!job) continue;
      const vars = Object.entries(env).map(([k, v]) => q(`${k}=${v}`));
      const command = cronCommand(job[1]);
      jobs.push(
        `(cd ${q(env.HOME)} && exec runuser -u ${q(user)} -- env -i ${vars.join(' ')} /bin/sh -c ${q(command)}) </dev/null >/dev/null 2>&1 &`,
      );
    }
  }
  return jobs.length ? [`{ ${jobs.join(' ')} true; }`] : [];
}

// A crontab command as cron runs it: `\%` is a `%`, and an unescaped `%` ends the command (the rest is stdin).
function cronCommand(text) {
  let out = '';
  for (let i = 0; i < text.length; i++) {
    if (text[i] === '\\' && text[i + 1] === '%') {
      out += '%';
      i++;
    } else if (text[i] === '%') break;
    else out += text[i];
  }
  return out;
}

async function startNodeAgain(name) {
  const state = await fs.readJson(stateFile);
  const node = state.nodes.find((n) => n.name === name) ?? fail(`no node "${name}"`);
  if (alive(node.pid)) fail(`${name} is running`);
  node.pid = startNode(node);
  await waitForNode(node, state.jump);
  await fs.writeJson(stateFile, state, { spaces: 2 });
  console.log(`sandbox: ${name} started`);
}

async function status() {
  if (!fs.existsSync(stateFile)) {
    console.log(`sandbox: not running (start it with: npm run sandbox -- up)`);
    process.exitCode = 1;
    return;
  }
  const state = await fs.readJson(stateFile);
  let ok = true;
  for (const node of state.nodes) {
    const up = alive(node.pid) && (await nodeListening(node, state.jump));
    ok &&= up;
    console.log(
      `${node.name.padEnd(8)} ssh ${node.address}:${node.sshPort}  app :${node.appPort}  ${up ? 'up' : 'DOWN'}${node.netns ? `  netns ${node.netns} (${node.behindJump ? 'behind the jump node' : `veth ${node.veth}`})` : ''}`,
    );
  }
  if (state.jump) {
    const up = alive(state.jump.pid) && (await portOpen(state.jump.sshPort, state.jump.address));
    ok &&= up;
    console.log(
      `jump     ssh ${state.jump.address}:${state.jump.sshPort}  ${up ? 'up' : 'DOWN'}  netns ${state.jump.netns}`,
    );
  }
  const lbUp = alive(state.haproxy.pid) && (await portOpen(state.haproxy.port));
  ok &&= lbUp;
  console.log(`haproxy  http://127.0.0.1:${state.haproxy.port}/  ${lbUp ? 'up' : 'DOWN'}`);
  if (state.nginx) {
    const nginxUp = alive(state.nginx.pid) && (await portOpen(state.nginx.port));
    ok &&= nginxUp;
    console.log(`nginx    http://127.0.0.1:${state.nginx.port}/  ${nginxUp ? 'up' : 'DOWN'}`);
  }
  if (!ok) process.exitCode = 1;
}

// An ordinary user on every node, for deploys that must not run as root. Its
// home is shared by the nodes (only /srv and /root are per node).
async function ensureUser(name, clientKey) {
  if (process.getuid?.() !== 0) return;
  const home = `/var/lib/${name}`;
  if ((await $`id -u ${name}`.nothrow().quiet()).exitCode !== 0) {
    await $`useradd --system --shell /bin/sh --home-dir ${home} --create-home ${name}`;
  }
  // '*': no password can log in, but unlike a locked '!' account sshd accepts its keys.
  await $`usermod -p ${'*'} ${name}`;
  const keys = path.join(home, '.ssh', 'authorized_keys');
  await fs.mkdirp(path.dirname(keys));
  const existing = fs.existsSync(keys) ? await fs.readFile(keys, 'utf8') : '';
  if (!existing.includes(clientKey)) await fs.appendFile(keys, `${clientKey}\n`);
  await $`chown -R ${name}: ${path.join(home, '.ssh')}`;
  await fs.chmod(keys, 0o600);
}

async function ensurePackages() {
  const missing = Object.entries(PACKAGES)
    .filter(([bin]) => !hasBinary(bin))
    .map(([, pkg]) => pkg);
  if (missing.length === 0) return;
  if (process.getuid?.() !== 0)
    fail(`missing ${missing.join(', ')}; install them (apt-get install ${missing.join(' ')}) or run this as root`);
  console.log(`installing ${missing.join(', ')} ...`);
  await $({ env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } })`apt-get update -qq`;
  await $({ env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } })`apt-get install -y -qq ${missing}`;
}

function hasBinary(bin) {
  return ['/usr/sbin', '/usr/bin', '/sbin', '/bin'].some((d) => fs.existsSync(path.join(d, bin)));
}

async function waitForPort(port, what, host = '127.0.0.1') {
  for (let i = 0; i < 100; i++) {
    if (await portOpen(port, host)) return;
    await sleep(50);
  }
  fail(`${what} did not start listening on ${host}:${port}; see ${dir}`);
}

function portOpen(port, host = '127.0.0.1') {
  return new Promise((resolve) => {
    const socket = net.connect(port, host);
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

// A killed process whose parent has not reaped it yet (a zombie) is dead too.
function alive(pid) {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    return !/^\d+ \(.*\) Z/.test(fs.readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

function signal(pid, sig) {
  try {
    process.kill(pid, sig);
  } catch {
    /* already gone */
  }
}

function fail(message) {
  console.error(`sandbox: ${message}`);
  process.exit(1);
}
