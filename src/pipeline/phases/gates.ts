import { type Finding, gate } from '../../gates/poison.js';
import { windowGate } from '../../gates/window.js';
import { UsageError } from '../../errors.js';
import { nextStep } from '../../next.js';
import type { RunContext } from '../context.js';
import type { OutcomeFields } from './finish.js';

export interface GateRequest {
  readonly version: string;
  /** Poison ids allowed to go out anyway (`--allow-poison`), with the reason. */
  readonly allowPoison?: readonly string[];
  readonly reason?: string;
  /** Outside the release windows: go ahead anyway (needs `reason`); journaled and counted. */
  readonly emergency?: boolean;
  /** The analysis (config `analysis`) is skipped (needs `reason`); journaled and counted. */
  readonly skipAnalysis?: boolean;
  /** What released it in an environment with approvals (judged by the operations before the run opens). */
  readonly approved?: Pick<OutcomeFields, 'approval' | 'requester' | 'approver' | 'review'>;
}

export interface GatesPassed {
  /** Known bugs allowed to go out with this release. */
  readonly allowed: string[];
  /** Released outside the windows, as an emergency. */
  readonly emergency: boolean;
  /** What the journal's `run_finished` line records of the gates. */
  readonly fields: OutcomeFields;
  /** What the gates let through, said under their header (announceGates). */
  readonly warnings: readonly string[];
}

/**
 * The release gates, judged before the run uses a connection or takes a lock: known
 * bugs (poison), then the release windows. A refusal is said under the
 * gates' header at once; what they let through waits for announceGates.
 */
export function passGates(
  ctx: RunContext,
  req: GateRequest,
  version: string,
  findings: readonly Finding[],
): GatesPassed {
  try {
    return judge(ctx, req, version, findings);
  } catch (error) {
    ctx.deps.reporter.emit({ type: 'phase', phase: 'gates' });
    throw error;
  }
}

/** Opens the gates phase once the nodes are connected: its header, what the gates let through; the lock follows. */
export function announceGates(ctx: RunContext, gates: GatesPassed): void {
  ctx.deps.reporter.emit({ type: 'phase', phase: 'gates' });
  for (const message of gates.warnings) ctx.deps.reporter.emit({ type: 'warn', message });
}

function judge(ctx: RunContext, req: GateRequest, version: string, findings: readonly Finding[]): GatesPassed {
  const env = ctx.config.env;
  const warnings: string[] = [];
  const { allowed } = gate(version, findings, req.allowPoison ?? [], req.reason);
  if (allowed.length) {
    warnings.push(`releasing with known bugs allowed by --allow-poison ${allowed.join(', ')}: ${req.reason}`);
  }
  const { windows, timezone } = ctx.config;
  const override = { on: Boolean(req.emergency), reason: req.reason };
  const again = nextStep('deploy', env, undefined, [req.version]);
  const window = windowGate(env, windows, timezone, ctx.deps.now(), override, again);
  const emergency = Boolean(req.emergency && window && !window.inside);
  if (emergency) warnings.push(`outside the release windows: emergency release (${req.reason})`);
  const skipped = Boolean(req.skipAnalysis && ctx.config.analysis);
  if (req.skipAnalysis && !req.reason)
    throw new UsageError('--skip-analysis needs --reason "why this release goes out without its analysis"');
  if (skipped) warnings.push(`the analysis is skipped with --skip-analysis: ${req.reason}`);
  const fields: OutcomeFields = {
    ...(allowed.length ? { allowedPoisons: allowed } : {}),
    ...(allowed.length || emergency || skipped ? { reason: req.reason } : {}),
    ...(emergency ? { emergency: true } : {}),
    ...(skipped ? { analysisSkipped: true } : {}),
    ...req.approved,
  };
  return { allowed, emergency, fields, warnings };
}
