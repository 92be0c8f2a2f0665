// The dashboard's stylesheet and its one script, served by relink itself (/assets/...): no build step,
// no CDN. The script only enhances: every page works without it (the run page then shows a snapshot).

export const CSS = `
:root { --fg: #1d2330; --muted: #5d6677; --line: #dfe3ea; --bg: #f6f7f9; --card: #fff;
  --good: #1f7a3d; --bad: #b42318; --warn: #a15c00; --accent: #2b59c3; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.45 system-ui, -apple-system, "DejaVu Sans", sans-serif; color: var(--fg);
  background: var(--bg); }
nav { display: flex; gap: 16px; align-items: center; padding: 10px 24px; background: #1d2330; color: #fff;
  flex-wrap: wrap; }
nav a { color: #dfe6f5; text-decoration: none; } nav a:hover { color: #fff; text-decoration: underline; }
nav .brand { font-weight: 700; color: #fff; margin-right: 12px; }
nav .who { margin-left: auto; color: #b9c2d3; } nav form { display: inline; }
button.link { background: none; border: 0; color: #dfe6f5; cursor: pointer; padding: 0; font: inherit; }
main { max-width: 1280px; margin: 0 auto; padding: 16px 24px 48px; }
h1 { font-size: 22px; margin: 8px 0 4px; } h2 { font-size: 17px; margin: 24px 0 8px; } h3 { font-size: 15px; }
section.env, .node, section.live, section.report { background: var(--card); border: 1px solid var(--line);
  border-radius: 8px; padding: 4px 16px 12px; margin: 12px 0; }
table { border-collapse: collapse; width: 100%; background: var(--card); margin: 6px 0; }
th, td { text-align: left; padding: 5px 8px; border-bottom: 1px solid var(--line); vertical-align: top; }
th { font-weight: 600; color: var(--muted); font-size: 12px; text-transform: uppercase; letter-spacing: .03em; }
td.num { text-align: right; } td.version { font-weight: 600; }
tr.current td { background: #eef6f0; } tr.down td { background: #fdf0ef; }
code { font: 12px/1.3 "DejaVu Sans Mono", ui-monospace, monospace; background: #f0f2f5; padding: 1px 4px;
  border-radius: 3px; word-break: break-all; }
pre { background: #f0f2f5; padding: 8px; border-radius: 4px; white-space: pre-wrap; }
.badge { display: inline-block; padding: 0 7px; border-radius: 10px; font-size: 12px; font-weight: 600;
  border: 1px solid transparent; }
.badge.good { color: var(--good); background: #e5f3ea; } .badge.bad { color: var(--bad); background: #fbe7e5; }
.badge.warn { color: var(--warn); background: #fdf1dc; } .badge.plain { color: var(--muted); background: #eceff3; }
.tag { font-size: 11px; color: var(--accent); border: 1px solid var(--accent); border-radius: 3px; padding: 0 4px; }
.meta, .fresh, .hint { color: var(--muted); } .fresh { font-size: 12px; }
.flash { padding: 8px 12px; border-radius: 6px; }
.flash.good { background: #e5f3ea; } .flash.bad { background: #fbe7e5; }
.actions .grid { display: grid; grid-template-columns: repeat(auto-fill, minmax(300px, 1fr)); gap: 12px; }
.actions form, form.action { background: var(--card); border: 1px solid var(--line); border-radius: 8px;
  padding: 10px 12px; margin: 8px 0; }
label { display: block; margin: 4px 0; } label.check { font-weight: normal; }
input, select { font: inherit; padding: 4px 6px; border: 1px solid #c4cad4; border-radius: 4px; max-width: 100%; }
button { font: inherit; padding: 5px 12px; border-radius: 5px; border: 1px solid #b8c0cc; background: #fff;
  cursor: pointer; }
button.primary { background: var(--accent); color: #fff; border-color: var(--accent); }
button.danger { background: var(--bad); color: #fff; border-color: var(--bad); }
ol.log { font: 12px/1.5 "DejaVu Sans Mono", monospace; background: var(--card); border: 1px solid var(--line);
  padding: 8px 8px 8px 40px; max-height: 320px; overflow: auto; }
ol.log li { white-space: pre-wrap; } ol.log li.warn { color: var(--warn); } ol.log li.phase { font-weight: 700; }
ol.steps { margin: 0; padding-left: 18px; }
.login { max-width: 360px; margin: 60px auto; background: var(--card); border: 1px solid var(--line);
  border-radius: 8px; padding: 16px 24px; }
.login input { width: 100%; }
svg.chart { width: 100%; max-width: 680px; height: auto; background: var(--card); border: 1px solid var(--line); }
svg .grid { stroke: var(--line); } svg .tick { font-size: 10px; fill: var(--muted); }
svg .ok, .key.ok::before { fill: #3b9a5a; background: #3b9a5a; }
svg .failed, .key.failed::before { fill: #d0473a; background: #d0473a; }
svg .rollback, .key.rollback::before { fill: #e3a008; background: #e3a008; }
svg .p50, .key.p50::before { fill: #6b8fd6; background: #6b8fd6; }
svg .p95, .key.p95::before { fill: #2b4c94; background: #2b4c94; }
.key::before { content: ""; display: inline-block; width: 10px; height: 10px; margin: 0 4px 0 8px; }
table.plan th { width: 240px; }
figure { margin: 8px 0 16px; } figcaption { color: var(--muted); font-size: 12px; }
`;

export const JS = `
(() => {
  'use strict';
  // How fresh the page is, kept current.
  const fresh = document.querySelector('.fresh[data-read-at]');
  if (fresh) {
    const at = Date.parse(fresh.dataset.readAt);
    const age = fresh.querySelector('.age');
    const tick = () => {
      const s = Math.max(0, Math.round((Date.now() - at) / 1000));
      age.textContent = s < 90 ? s + ' s ago' : Math.round(s / 60) + ' min ago';
    };
    setInterval(tick, 1000);
  }
  // A run that is still going: its steps arrive as server-sent events.
  const steps = document.getElementById('steps');
  if (!steps || steps.dataset.live !== '1' || !window.EventSource) return;
  const body = steps.querySelector('tbody');
  const messages = document.getElementById('messages');
  const state = document.getElementById('run-state');
  const badge = (word) => {
    const tones = { ok: 'good', success: 'good', fail: 'bad', failed: 'bad', rolled_back: 'bad', start: 'warn',
      running: 'warn', interrupted: 'warn', halted: 'warn' };
    const span = document.createElement('span');
    span.className = 'badge ' + (tones[word] || 'plain');
    span.textContent = word;
    return span;
  };
  const cell = (row, content) => {
    const td = document.createElement('td');
    if (content instanceof Node) td.appendChild(content); else td.textContent = content;
    row.appendChild(td);
  };
  const took = (ms) => ms === undefined ? '' : ms >= 1000 ? (ms / 1000).toFixed(1) + ' s' : Math.round(ms) + ' ms';
  const seen = new Set([...body.querySelectorAll('tr')].map((tr) => tr.dataset.key));
  const source = new EventSource('/runs/' + encodeURIComponent(steps.dataset.run) + '/events?from=' +
    encodeURIComponent(steps.dataset.lines || '0'));
  source.addEventListener('line', (event) => {
    const line = JSON.parse(event.data);
    if (line.kind === 'step') {
      const key = (line.node || '-') + '|' + line.step;
      const row = document.createElement('tr');
      row.dataset.key = key;
      row.className = 'live';
      cell(row, line.node || '-'); cell(row, line.step); cell(row, badge(line.status || 'start'));
      cell(row, took(line.ms)); cell(row, line.detail || '');
      const old = [...body.querySelectorAll('tr')].find((tr) => tr.dataset.key === key);
      if (old) old.replaceWith(row); else body.appendChild(row);
      seen.add(key);
      return;
    }
    const li = document.createElement('li');
    li.className = line.kind;
    li.textContent = (line.node ? line.node + ': ' : '') +
      (line.kind === 'phase' ? '== ' + line.phase : line.kind === 'run' ? line.command + ' ' + line.env : line.message);
    messages.appendChild(li);
  });
  source.addEventListener('end', (event) => {
    source.close();
    const end = JSON.parse(event.data);
    state.replaceChildren(badge(end.result));
    state.dataset.live = '0';
    steps.dataset.live = '0';
    setTimeout(() => location.reload(), 1500);
  });
})();
`;
