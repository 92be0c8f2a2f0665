// A deploy against the plan announced for it: the announcement it carries (journal, report) and what
// differed from that plan (another tag, another commit, another time).

/** What a deploy knows of the announcement that matched it (by environment and version, or by schedule). */
export interface AnnouncedRef {
  readonly id: string;
  readonly version: string;
  readonly commit: string;
  /** When the release was announced for (ISO); absent: no time was fixed. */
  readonly at?: string;
  readonly schedule?: string;
}

/** How far from the announced time a release may start and still be "on time". */
export const ON_TIME_MS = 15 * 60_000;

function span(ms: number): string {
  const minutes = Math.round(Math.abs(ms) / 60_000);
  const h = Math.floor(minutes / 60);
  const text = h >= 48 ? `${Math.round(h / 24)}d` : h ? `${h}h ${minutes % 60}m` : `${minutes}m`;
  return `${text} ${ms > 0 ? 'later' : 'earlier'}`;
}

/** What differs between the announced plan and the release that goes out; empty: as announced. */
export function differences(
  plan: AnnouncedRef,
  actual: { readonly version: string; readonly commit: string; readonly started: Date },
): string[] {
  const out: string[] = [];
  if (plan.version !== actual.version) {
    out.push(
      `another version: ${actual.version} (${actual.commit.slice(0, 12)}) instead of the announced ${plan.version}`,
    );
  } else if (plan.commit !== actual.commit) {
    out.push(
      `${plan.version} now names commit ${actual.commit.slice(0, 12)}, not the announced ${plan.commit.slice(0, 12)}`,
    );
  }
  if (plan.at) {
    const late = actual.started.getTime() - new Date(plan.at).getTime();
    if (Math.abs(late) > ON_TIME_MS) {
      out.push(`another time: started ${actual.started.toISOString()}, announced for ${plan.at} (${span(late)})`);
    }
  }
  return out;
}

/** The gates' journal fields, with the announcement's id when the deploy matched one. */
export function withAnnouncement<G extends { readonly fields: object }>(gates: G, plan: AnnouncedRef | undefined): G {
  return plan ? { ...gates, fields: { ...gates.fields, announcement: plan.id } } : gates;
}

/** The report's part on the announced plan: its id, and what differed from it. */
export function againstPlan(
  plan: AnnouncedRef | undefined,
  actual: { readonly version: string; readonly commit: string; readonly started: Date },
): { id: string; differences: string[] } | undefined {
  return plan && { id: plan.id, differences: differences(plan, actual) };
}
