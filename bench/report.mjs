// The benchmark's table, floors and chart, from bench/run.mjs's results.

/**
 * What each relink step cannot beat on this machine: one SSH connect, the
 * release's bytes to every node at once over OpenSSH, and the app's own restart once per
 * sequential rolling phase (cold: the pre node, then every other node at once
 * since nothing serves; warm and rollback: the pre node and the 25% groups;
 * emergency: all nodes at once).
 */
export function floorsOf(results, nodes) {
  const { connectMs, streamMs, restartMs } = results.floors;
  const groups = 1 + Math.ceil((nodes - 1) / Math.max(1, Math.ceil((nodes * 25) / 100)));
  return {
    cold: connectMs + streamMs + 2 * restartMs,
    warm: connectMs + groups * restartMs,
    rollback: connectMs + groups * restartMs,
    emergency: connectMs + restartMs,
  };
}

const s = (ms) => (ms === undefined ? '-' : (ms / 1000).toFixed(2));

export function markdown(results, median) {
  const m = (tool, figure) => {
    const xs = results.figures[tool]?.[figure];
    return xs?.length ? median(xs) : undefined;
  };
  const f = results.floorsPerStep;
  const peers = ['capistrano', 'shipit'].filter((p) => results.figures[p]);
  const ratio = (peer, key) => {
    const a = m('relink', key);
    const b = m(peer, key);
    return a && b ? `${(b / a).toFixed(2)}x` : '-';
  };
  const row = (label, key, floor) =>
    `| ${label} | ${s(m('relink', key))} | ${s(floor)} | ${s(m('relink-before', key))} | ${s(m('relink-nolb', key))} | ${peers.map((p) => s(m(p, key))).join(' | ')} | ${peers.map((p) => ratio(p, key)).join(' | ')} |`;
  const loaded = (tool) => {
    const l = results.loaded?.[tool];
    if (!l) return '-';
    // The kinds of the failures, when there were any (bench/load.mjs).
    const why = (pass) =>
      Object.entries(pass.kinds ?? {})
        .map(([kind, n]) => `${kind}: ${n}`)
        .join(', ');
    const said = [why(l.deploy), why(l.rollback)].filter(Boolean).join('; ');
    return `${l.deploy.failures} / ${l.rollback.failures}${said ? ` (${said})` : ''}`;
  };
  const cpu = (tool, key = 'coldCpuMs') => s(m(tool, key));
  const rss = (tool) => (m(tool, 'coldRssKb') ? (m(tool, 'coldRssKb') / 1024).toFixed(0) : '-');
  const loop = m('shell-loop', 'emergency');
  const emergency = m('relink', 'emergency');
  const cold = (n) => m('relink-nolb', `cold${n}`);
  return [
    '# relink benchmark',
    '',
    `${results.date}: ${results.nodes} sandbox nodes, ${results.releaseMB} MB release of incompressible data, medians of ${results.runs} runs, every tool in alternation on the same cluster (HAProxy health checks \`inter 1s rise 2 fall 2\`). Wall time from spawn to exit, the app's restart included; every node's version is checked after every step. Setups: [bench/peers/README.md](../peers/README.md).`,
    '',
    `| step, ${results.nodes} nodes (s) | relink, HAProxy drain | floor | relink before (${results.before ?? '-'}), drain | relink, no LB | ${peers.join(' | ')} | ${peers.map((p) => `${p} / relink`).join(' | ')} |`,
    `| --- | ---: | ---: | ---: | ---: | ${peers.map(() => '---:').join(' | ')} | ${peers.map(() => '---:').join(' | ')} |`,
    row('cold deploy (empty nodes)', 'cold', f.cold),
    row('warm deploy (one file changed)', 'warm', f.warm),
    row('rollback --last', 'rollback', f.rollback),
    `| tool CPU, cold deploy (s) | ${cpu('relink')} | | ${cpu('relink-before')} | ${cpu('relink-nolb')} | ${peers.map((p) => cpu(p)).join(' | ')} | ${peers.map((p) => ratio(p, 'coldCpuMs')).join(' | ')} |`,
    `| tool CPU, warm deploy (s) | ${cpu('relink', 'warmCpuMs')} | | ${cpu('relink-before', 'warmCpuMs')} | ${cpu('relink-nolb', 'warmCpuMs')} | ${peers.map((p) => cpu(p, 'warmCpuMs')).join(' | ')} | ${peers.map((p) => ratio(p, 'warmCpuMs')).join(' | ')} |`,
    `| peak RSS, cold deploy, with children (MB) | ${rss('relink')} | | ${rss('relink-before')} | ${rss('relink-nolb')} | ${peers.map(rss).join(' | ')} | |`,
    `| failed requests at 200 req/s, deploy / rollback | ${loaded('relink')} | 0 / 0 | ${loaded('relink-before')} | - | ${peers.map(loaded).join(' | ')} | |`,
    '',
    `Emergency rollback (\`rollback prod --last --emergency\`): ${s(emergency)} s (before: ${s(m('relink-before', 'emergency'))} s); the same work by hand (one OpenSSH connection per node, all at once, relink + the app's restart) in the same run: ${s(loop)} s: relink / shell loop = ${emergency && loop ? (emergency / loop).toFixed(2) : '-'}x (floor ${s(f.emergency)} s).`,
    '',
    `Floors measured here: one OpenSSH connect ${s(results.floors.connectMs)} s; ${results.releaseMB} MB to each of the ${results.nodes} nodes at once, one OpenSSH stream each (AES-GCM, as relink negotiates; connects left out) ${s(results.floors.streamMs)} s; the app's own restart until it answers ${s(results.floors.restartMs)} s.`,
    '',
    ...(cold(results.scale)
      ? [
          `relink (no LB) cold deploy: ${results.nodes} nodes ${s(cold(results.nodes))} s, ${results.scale} nodes ${s(cold(results.scale))} s: ${(cold(results.scale) / cold(results.nodes)).toFixed(2)}x the time for ${results.scale / results.nodes}x the nodes.`,
          '',
        ]
      : []),
    `deploy --help: median ${s(m('relink', 'help'))} s over 11 starts.`,
    '',
    ...(results.profile
      ? [
          "Where relink's CPU goes in a warm deploy (one more warm deploy, `node --cpu-prof`, bench/profile.mjs):",
          '',
          '```',
          results.profile,
          '```',
          '',
        ]
      : []),
  ].join('\n');
}

/** Grouped bars: cold, warm and rollback per tool, with relink's floor marked. */
export function chart(results, median) {
  const tools = ['relink', 'relink-before', 'relink-nolb', 'capistrano', 'shipit'].filter((t) => results.figures[t]);
  const steps = ['cold', 'warm', 'rollback'];
  const colors = ['steelblue', 'goldenrod', 'lightsteelblue', 'indianred', 'darkseagreen'];
  const value = (t, k) => median(results.figures[t][k] ?? [0]);
  const max = Math.max(...tools.flatMap((t) => steps.map((k) => value(t, k)))) * 1.15;
  const y = (ms) => 260 - (ms / max) * 220;
  const bars = steps.flatMap((k, i) =>
    tools.map((t, j) => {
      const x = 60 + i * 200 + j * 36;
      const v = value(t, k);
      return `<rect x="${x}" y="${y(v)}" width="30" height="${260 - y(v)}" fill="${colors[j]}"/><text x="${x + 15}" y="${y(v) - 4}" text-anchor="middle" font-size="10">${(v / 1000).toFixed(1)}</text>`;
    }),
  );
  const floors = steps.map((k, i) => {
    const v = results.floorsPerStep[k];
    return `<line x1="${55 + i * 200}" x2="${240 + i * 200}" y1="${y(v)}" y2="${y(v)}" stroke="black" stroke-dasharray="4 3"/>`;
  });
  const labels = steps.map((k, i) => `<text x="${150 + i * 200}" y="280" text-anchor="middle">${k}</text>`);
  const legend = tools.map(
    (t, j) =>
      `<rect x="${660}" y="${50 + j * 18}" width="12" height="12" fill="${colors[j]}"/><text x="${678}" y="${61 + j * 18}">${t}</text>`,
  );
  return `<svg xmlns="http://www.w3.org/2000/svg" width="800" height="300" font-family="sans-serif" font-size="12">
<text x="400" y="20" text-anchor="middle">${results.nodes} nodes, ${results.releaseMB} MB release: seconds (dashed: relink's floor)</text>
<line x1="50" y1="260" x2="650" y2="260" stroke="black"/>
${[...bars, ...floors, ...labels, ...legend].join('\n')}
<text x="678" y="${61 + tools.length * 18}">- - floor</text>
</svg>
`;
}
