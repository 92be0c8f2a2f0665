// The release gate of a rollback: the release a node goes back to is checked for known bugs (poison
// records) as a deploy's version is, with the deploy's own decision (gates/poison.ts `gate`).
import { describeOpen, type Finding, gate, open } from '../../gates/poison.js';
import { type NextStep, nextStep, type Part, said } from '../../next.js';
import type { ReleaseFacts } from '../../template/scope.js';
import type { OutcomeFields } from './finish.js';

/** Where a rollback learns the known bugs of a commit (the repository's records; none in tests without one). */
export interface KnownBugs {
  /** The records in the history of `commit` and whether each is cured there; never throws for want of the remote. */
  findings(commit: string): Promise<readonly Finding[]>;
}

export interface RollbackGateRequest {
  readonly allowPoison?: readonly string[];
  readonly reason?: string;
  readonly emergency?: boolean;
}

/** One release the rollback switches to, with the known bugs it has without their fix. */
export interface TargetBugs {
  readonly target: ReleaseFacts;
  readonly open: readonly Finding[];
}

export interface RollbackGatePassed {
  /** Known bugs the rollback goes back to anyway, by --allow-poison. */
  readonly allowed: string[];
  /** Known bugs an emergency rollback lands on (not refused: said, journaled, notified). */
  readonly landsOn: string[];
  /** The records behind both, for the report. */
  readonly records: readonly { id: string; comment: string; ticket?: string }[];
  /** The journal's `run_finished` fields. */
  readonly fields: OutcomeFields;
  readonly warnings: readonly string[];
}

/** The open known bugs of each distinct target release (a target without a commit is not checked). */
export async function bugsOfTargets(targets: readonly ReleaseFacts[], bugs: KnownBugs): Promise<TargetBugs[]> {
  const seen = new Map<string, ReleaseFacts>();
  for (const t of targets) if (/^[0-9a-f]{40}$/.test(t.commit)) seen.set(t.release, t);
  const out: TargetBugs[] = [];
  for (const target of seen.values()) out.push({ target, open: open(await bugs.findings(target.commit)) });
  return out;
}

/**
 * The decision: a target release with a known bug without its fix is refused (GateError, exit 3, the
 * bug and the release named) unless every such bug is allowed by id with a reason; an emergency
 * rollback goes ahead and says which known bugs it lands on.
 */
export function judgeRollback(found: readonly TargetBugs[], req: RollbackGateRequest, env: string): RollbackGatePassed {
  const records = new Map<string, { id: string; comment: string; ticket?: string }>();
  const note = (f: Finding) =>
    records.set(f.record.id, { id: f.record.id, comment: f.record.comment, ticket: f.record.ticket });
  if (req.emergency) {
    const warnings = found
      .filter((t) => t.open.length)
      .map(
        (t) =>
          `emergency rollback lands on ${label(t.target)}, with ${t.open.length} known bug(s) without their ` +
          `fix:\n${describeOpen(t.open)}`,
      );
    for (const t of found) t.open.forEach(note);
    const landsOn = [...records.keys()];
    return {
      allowed: [],
      landsOn,
      records: [...records.values()],
      fields: landsOn.length ? { landedOnPoisons: landsOn } : {},
      warnings,
    };
  }
  const allowed = new Set<string>();
  for (const t of found) {
    const pick = nextStep('rollback', env, { to: '<version>' });
    const known = said`each release's known bugs: ${nextStep('releases', env)}`;
    const urgent = nextStep('again', undefined, { emergency: true, reason: '...' });
    const passed = gate(
      `rollback target ${label(t.target)}`,
      t.open,
      req.allowPoison ?? [],
      req.reason,
      (allow) => said`roll back to a release without it (${pick}; ${known}), or, ${deliberately(allow, urgent)}`,
    );
    for (const id of passed.allowed) allowed.add(id);
    t.open.filter((f) => allowed.has(f.record.id)).forEach(note);
  }
  const ids = [...allowed];
  const warnings = ids.length
    ? [`rolling back onto known bugs allowed by --allow-poison ${ids.join(', ')}: ${req.reason}`]
    : [];
  return {
    allowed: ids,
    landsOn: [],
    records: [...records.values()],
    fields: ids.length ? { allowedPoisons: ids } : {},
    warnings,
  };
}

const label = (t: ReleaseFacts) => `${t.version} (${t.release})`;

const deliberately = (allow: readonly Part[], urgent: NextStep) =>
  said`deliberately: ${allow}; in an emergency: ${urgent}`;
