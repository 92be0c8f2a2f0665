#!/usr/bin/env zx
// Benchmark of the release gate: `deploy check` over a history of 10,000
// commits with 1,000 poison records, against a naive check that asks git once
// per record (merge-base --is-ancestor for the poison and each cure), in the
// same run. Prints medians; writes bench/results/poison.json.
import { execFileSync, spawnSync } from 'node:child_process';
import { $, argv, fs, path } from 'zx';

$.verbose = false;
const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const work = path.join(root, 'bench', 'work', 'poison');
const commits = Number(argv.commits ?? 10_000);
const count = Number(argv.records ?? 1_000);
const runs = Number(argv.runs ?? 5);
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

await fs.remove(work);
await fs.mkdirp(work);
const repo = path.join(work, 'repo.git');
await $`git init -q --bare -b main ${repo}`;

// 10,000 commits in one fast-import stream.
let stream = '';
const when = 1_700_000_000;
for (let i = 1; i <= commits; i++) {
  const msg = `change ${i}`;
  stream += `commit refs/heads/main\nmark :${i}\ncommitter bench <b@x> ${when + i} +0000\ndata ${msg.length}\n${msg}\n${i > 1 ? `from :${i - 1}\n` : ''}M 644 inline file-${i % 50}.txt\ndata ${String(i).length + 1}\n${i}\n\n`;
}
execFileSync('git', ['--git-dir', repo, 'fast-import', '--quiet'], { input: stream, maxBuffer: 1 << 30 });
const shas = execFileSync('git', ['--git-dir', repo, 'rev-list', '--reverse', '--end-of-options', 'main'], {
  encoding: 'utf8',
  maxBuffer: 1 << 28,
})
  .trim()
  .split('\n');

// 1,000 records: poisons spread over the history; 9 in 10 cured by a later commit, the rest open.
const records = [];
for (let i = 0; i < count; i++) {
  const at = Math.floor(((i + 1) * (commits - 200)) / count);
  const cured = i % 10 !== 0;
  records.push({
    id: `p-${String(i).padStart(8, '0')}`,
    commit: shas[at],
    comment: `bug ${i}`,
    who: 'bench',
    when: new Date((when + i) * 1000).toISOString(),
    cures: cured ? [{ commit: shas[at + 100], who: 'bench', when: new Date((when + i + 1) * 1000).toISOString() }] : [],
  });
}
let recStream = `commit refs/relink/poison\ncommitter bench <b@x> ${when} +0000\ndata 7\nrecords\n`;
for (const r of records) {
  const body = `${JSON.stringify(r, null, 2)}\n`;
  recStream += `M 644 inline records/${r.id}.json\ndata ${Buffer.byteLength(body)}\n${body}\n`;
}
execFileSync('git', ['--git-dir', repo, 'fast-import', '--quiet'], { input: recStream, maxBuffer: 1 << 30 });

const project = path.join(work, 'project');
await fs.mkdirp(path.join(project, 'hosts'));
await fs.writeFile(
  path.join(project, 'deploy.config.ts'),
  `export default { project: 'b', repo: ${JSON.stringify(repo)}, deployTo: '/srv/b' };\n`,
);
const bin = path.join(root, 'dist', 'bin', 'deploy.js');
spawnSync('node', [bin, 'check', 'main'], { cwd: project }); // clones the mirror once

const relink = [];
let open = 0;
for (let i = 0; i < runs; i++) {
  const t = process.hrtime.bigint();
  const r = spawnSync('node', [bin, 'check', 'main', '--json'], { cwd: project, encoding: 'utf8', maxBuffer: 1 << 26 });
  relink.push(Number(process.hrtime.bigint() - t) / 1e6);
  open = JSON.parse(r.stdout).open.length;
}

// The peer: one git process per question, as a shell script would do it.
const naive = [];
const mirror = path.join(project, '.relink', 'repo.git');
for (let i = 0; i < Math.min(runs, 3); i++) {
  const t = process.hrtime.bigint();
  let naiveOpen = 0;
  for (const r of records) {
    const inHistory =
      spawnSync('git', ['--git-dir', mirror, 'merge-base', '--is-ancestor', '--end-of-options', r.commit, 'main'])
        .status === 0;
    if (!inHistory) continue;
    const cured = r.cures.some(
      (c) =>
        spawnSync('git', ['--git-dir', mirror, 'merge-base', '--is-ancestor', '--end-of-options', c.commit, 'main'])
          .status === 0,
    );
    if (!cured) naiveOpen++;
  }
  naive.push(Number(process.hrtime.bigint() - t) / 1e6);
  if (naiveOpen !== open) throw new Error(`naive check found ${naiveOpen} open poisons, relink ${open}`);
}

const result = {
  commits,
  records: count,
  open,
  relinkCheckMs: { median: median(relink), samples: relink },
  naivePerRecordMs: { median: median(naive), samples: naive },
  ratio: median(naive) / median(relink),
};
await fs.mkdirp(path.join(root, 'bench', 'results'));
await fs.writeJson(path.join(root, 'bench', 'results', 'poison.json'), result, { spaces: 2 });
console.log(
  `deploy check, ${commits} commits, ${count} records (${open} open): median ${(median(relink) / 1000).toFixed(3)} s (${relink.map((x) => (x / 1000).toFixed(3)).join(', ')})`,
);
console.log(
  `naive check, one git process per record:                 median ${(median(naive) / 1000).toFixed(3)} s -> relink is ${result.ratio.toFixed(1)}x faster`,
);
await fs.remove(work);
