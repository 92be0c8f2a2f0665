import { type AnalysisRecord, shown } from '../../gates/analysis.js';
import fs from 'node:fs';
import path from 'node:path';
import type { Reporter, RunEvent } from '../../log/events.js';
import { printable } from '../../log/listing.js';
import type { MergedBranches } from '../../journal/events.js';

/** A value in a Markdown table cell: one line, and its `|` not a column break. */
const cell = (value: string | undefined): string => printable(value).replaceAll('|', '\\|');

/**
 * Collects the per-node step timings of a run for its report: how long each took and when it began (ms
 * since the first event), so steps of groups that overlapped show as such; and each group's line.
 */
export class StepCollector implements Reporter {
  readonly steps: { node: string; step: string; status: string; at?: number; ms: number; detail?: string }[] = [];
  /** `group 3/4: node3 (drain overlaps group 2's smoke test and undrain)`, as the rollout said them. */
  readonly groups: string[] = [];
  private readonly began = performance.now();
  private readonly started = new Map<string, number>();
  emit(event: RunEvent): void {
    if (event.type === 'info' && /^group \d+\/\d+: /.test(event.message)) this.groups.push(event.message);
    if (event.type !== 'step') return;
    const key = `${event.node ?? '-'} ${event.step}`;
    if (event.status === 'start') this.started.set(key, performance.now());
    else
      this.steps.push({
        node: event.node ?? '-',
        step: event.step,
        status: event.status,
        at: Math.round((this.started.get(key) ?? performance.now() - (event.ms ?? 0)) - this.began),
        ms: Math.round(event.ms ?? 0),
        detail: event.detail,
      });
  }
  close(): void {}
}

export interface ReportData {
  readonly runId: string;
  readonly command: string;
  readonly env: string;
  readonly user: string;
  readonly started: Date;
  readonly finished: Date;
  readonly result: string;
  readonly error?: string;
  readonly version?: string;
  readonly release?: string;
  readonly commit?: string;
  readonly commits?: readonly { sha: string; subject: string }[];
  readonly bugfixes?: readonly { id: string; comment: string; ticket?: string }[];
  readonly openPoisons?: readonly { id: string; comment: string; ticket?: string }[];
  readonly allowedPoisons?: readonly string[];
  /** Known bugs this release fixes, with the nodes of every environment still running them without the fix. */
  readonly notYetFixed?: readonly { id: string; comment: string; ticket?: string; nodes: readonly string[] }[];
  readonly emergency?: { reason?: string };
  /** Who asked for the deploy and who approved it; an emergency's review after the fact. */
  readonly approval?: { readonly requester?: string; readonly approver?: string; readonly review?: string };
  readonly steps: StepCollector['steps'];
  /** The rollout's groups, in order, each saying when its drain overlapped the group before. */
  readonly groups?: readonly string[];
  readonly rollbackCommand: string;
  /** Bytes the run sent from this machine to the nodes (commands, uploads), where the transport counts them. */
  readonly sentBytes?: number;
  /** The announced plan the deploy matched, and what differed from it (empty: as announced). */
  readonly announcement?: { readonly id: string; readonly differences: readonly string[] };
  /** `deploy --branches`: the base and each branch merged onto it, with its commit. */
  readonly merged?: MergedBranches;
  /** Nodes set aside within rollout.maxFailures, with why, and the command that brings them up. */
  readonly setAside?: { readonly nodes: readonly { node: string; reason: string }[]; readonly retry: string };
  /** The analyses of the rollout (config `analysis`), each with its last (or first failing) measurement. */
  readonly analysis?: readonly AnalysisRecord[];
}

/** The Markdown release report: what went out, where, how long each step took, and how to undo it. */
export function renderReport(d: ReportData): string {
  const seconds = ((d.finished.getTime() - d.started.getTime()) / 1000).toFixed(1);
  const lines = [
    `# ${printable(d.command)}: ${d.result}`,
    '',
    `| | |`,
    `| --- | --- |`,
    `| environment | ${d.env} |`,
    ...(d.version ? [`| version | ${d.version} |`] : []),
    ...(d.release ? [`| release | \`${d.release}\` |`] : []),
    ...(d.commit ? [`| commit | \`${d.commit}\` |`] : []),
    `| who | ${cell(d.user)} |`,
    `| started | ${d.started.toISOString()} |`,
    `| finished | ${d.finished.toISOString()} (${seconds} s) |`,
    `| run | ${d.runId} |`,
    ...(d.sentBytes === undefined ? [] : [`| sent from this machine | ${(d.sentBytes / 1e6).toFixed(1)} MB |`]),
    ...(d.emergency
      ? [`| emergency | ${d.emergency.reason ? `yes: ${cell(d.emergency.reason)}` : 'yes (no --reason given)'} |`]
      : []),
    ...(d.announcement ? [`| announced | ${d.announcement.id} |`] : []),
    ...(d.allowedPoisons?.length ? [`| released with known bugs | ${d.allowedPoisons.join(', ')} |`] : []),
    ...(d.approval?.requester ? [`| requested by | ${cell(d.approval.requester)} |`] : []),
    ...(d.approval?.approver ? [`| approved by | ${cell(d.approval.approver)} |`] : []),
    ...(d.approval?.review ? [`| review after the fact | ${d.approval.review} (not approved beforehand) |`] : []),
    '',
    ...(d.announcement
      ? [
          '## Against the announced plan',
          '',
          ...(d.announcement.differences.length
            ? d.announcement.differences.map((x) => `- ${printable(x)}`)
            : [`As announced (${d.announcement.id}).`]),
          '',
        ]
      : []),
    ...(d.error ? ['## What went wrong', '', '```', d.error, '```', ''] : []),
    ...(d.setAside?.nodes.length
      ? [
          '## Set aside (rollout.maxFailures)',
          '',
          ...d.setAside.nodes.map((s) => `- ${s.node}: ${printable(s.reason)}`),
          '',
          `Once they are back: \`${d.setAside.retry}\``,
          '',
        ]
      : []),
    ...(d.merged
      ? [
          `## Branches merged onto ${cell(d.merged.base.name)} (\`${d.merged.base.commit.slice(0, 10)}\`)`,
          '',
          ...d.merged.branches.map((b) => `- ${cell(b.name)} \`${b.commit.slice(0, 10)}\``),
          '',
        ]
      : []),
    ...(d.commits
      ? [
          '## Commits since what ran before',
          '',
          ...(d.commits.length ? d.commits.map((c) => `- \`${c.sha.slice(0, 10)}\` ${c.subject}`) : ['(none)']),
          '',
        ]
      : []),
    ...(d.bugfixes
      ? [
          '## Known bugs fixed by this release',
          '',
          ...(d.bugfixes.length
            ? d.bugfixes.map((b) => `- ${b.id}: ${b.comment}${b.ticket ? ` (${b.ticket})` : ''}`)
            : ['(none)']),
          '',
        ]
      : []),
    ...(d.openPoisons
      ? [
          '## Known bugs still in this release',
          '',
          ...(d.openPoisons.length
            ? d.openPoisons.map((b) => `- ${b.id}: ${b.comment}${b.ticket ? ` (${b.ticket})` : ''}`)
            : ['(none)']),
          '',
        ]
      : []),
    ...(d.notYetFixed?.length
      ? [
          '## Fixed here, still running elsewhere without the fix',
          '',
          ...d.notYetFixed.map(
            (b) =>
              `- ${b.id}: ${cell(b.comment)}${b.ticket ? ` (${cell(b.ticket)})` : ''}: ` +
              (b.nodes.length ? b.nodes.join(', ') : 'nowhere: every node has the fix'),
          ),
          '',
        ]
      : []),
    ...analysisSection(d.analysis),
    ...(d.groups?.length ? ['## Groups', '', ...d.groups.map((g) => `- ${printable(g)}`), ''] : []),
    '## Steps per node',
    '',
    'at: ms from the start of the run to the start of the step.',
    '',
    '| node | step | result | at | ms | detail |',
    '| --- | --- | --- | ---: | ---: | --- |',
    ...d.steps.map((s) => `| ${s.node} | ${s.step} | ${s.status} | ${s.at ?? ''} | ${s.ms} | ${cell(s.detail)} |`),
    '',
    '## To undo it',
    '',
    '```sh',
    d.rollbackCommand,
    '```',
    '',
  ];
  return lines.join('\n');
}

/** Each analysis: where it ran, how it ended, and each query's values against what they were held to. */
function analysisSection(analyses: ReportData['analysis']): string[] {
  if (!analyses?.length) return [];
  const lines = ['## Analysis', ''];
  for (const a of analyses) {
    const how =
      a.result === 'skipped'
        ? 'skipped (--skip-analysis)'
        : `${a.result}, ${a.failed} of ${a.measurements} measurement(s) failed`;
    lines.push(`${a.stage} (${a.canary.join(', ')}): ${how}`, '');
    if (!a.verdicts.length) continue;
    lines.push('| query | canary | baseline | held to | result |', '| --- | ---: | ---: | --- | --- |');
    for (const v of a.verdicts) {
      const held = [v.condition, v.allowed !== undefined ? `<= ${shown(v.allowed)} (baseline)` : undefined];
      const result = v.ok ? 'ok' : `FAILED: ${cell(v.why ?? '')}`;
      const base = v.baseline === undefined ? '' : shown(v.baseline);
      lines.push(`| ${v.query} | ${shown(v.canary)} | ${base} | ${held.filter(Boolean).join(', ')} | ${result} |`);
    }
    lines.push('');
  }
  return lines;
}

export function writeReport(stateDir: string, runId: string, text: string): string {
  const dir = path.join(stateDir, 'reports');
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `${runId}.md`);
  fs.writeFileSync(file, text);
  return file;
}
