// Traffic weights of the canary's analysis steps (config `analysis.steps`): which weights give the canary's
// servers a share of the requests, within what each load balancer accepts. Pure: the drivers set them.
import type { LbDriverName } from '../config/names.js';

/** The weights a load balancer accepts: HAProxy's runtime API 0-256, nginx's `weight=` 1 and up. */
export interface WeightRange {
  readonly min: number;
  readonly max: number;
}

/** The drivers that can weight their servers, with their range; the others cannot take analysis steps. */
export const WEIGHT_RANGES: Partial<Record<LbDriverName, WeightRange>> = {
  haproxy: { min: 0, max: 256 },
  nginx: { min: 1, max: 256 },
};

/** The weight of every canary server, of every other server, and the share of requests they give the canary. */
export interface StepWeights {
  readonly canary: number;
  readonly others: number;
  /** The canary's share in percent, as near the step as the range allows. */
  readonly share: number;
}

/**
 * The weights that give `canary` servers `percent` of the requests against `others` servers: every canary
 * server one weight, every other one another, both integers in `range` (the canary's at least 1). The
 * nearest share wins, then the smallest weights: 5% of 1 against 3 is 3 against 19 (3 / (3 + 3 × 19)).
 */
export function stepWeights(percent: number, canary: number, others: number, range: WeightRange): StepWeights {
  if (!(percent > 0 && percent <= 100)) throw new Error(`a traffic step is above 0 and at most 100, not ${percent}`);
  if (canary < 1 || others < 0) throw new Error(`no canary server to weight (${canary} against ${others})`);
  // The others keep a weight of at least 1, even at 100: should the canary go down, the load balancer still has
  // them to send to (a weight of 0 leaves it nothing). 100% is then the nearest the range allows (256:1).
  const low = Math.max(range.min, 1);
  let best: StepWeights | undefined;
  let bestMiss = Number.POSITIVE_INFINITY;
  for (let c = Math.max(range.min, 1); c <= range.max; c++) {
    // For this canary weight, the others' weights nearest the share (the exact one lies between them).
    const exact = percent === 100 ? 0 : (c * canary * (100 - percent)) / (percent * Math.max(others, 1));
    for (const o of new Set([Math.floor(exact), Math.ceil(exact)])) {
      const w = Math.min(Math.max(o, low), range.max);
      const share = (100 * c * canary) / (c * canary + w * others);
      const miss = Math.abs(share - percent);
      if (miss < bestMiss - 1e-9 || (Math.abs(miss - bestMiss) <= 1e-9 && c + w < best!.canary + best!.others)) {
        best = { canary: c, others: w, share };
        bestMiss = miss;
      }
    }
  }
  return best!;
}

/** A share for people: `5%`, `98.8%`. */
export function shareText(share: number): string {
  return `${Number(share.toFixed(share >= 10 ? 1 : 2))}%`;
}

/** Parses HAProxy's answer to `get weight <backend>/<server>`: `3 (initial 1)`; undefined when it is not that. */
export function parseWeight(answer: string, range: WeightRange = WEIGHT_RANGES.haproxy!): number | undefined {
  const m = /^(\d{1,3}) \(initial \d{1,3}\)$/.exec(answer.trim());
  const weight = m ? Number(m[1]) : Number.NaN;
  return Number.isInteger(weight) && weight >= range.min && weight <= range.max ? weight : undefined;
}

/** An nginx upstream `server` line's `weight=N`, undefined without one (nginx's default 1). */
export function nginxWeightOf(params: string): number | undefined {
  const m = /(?:^|\s)weight=(\d+)(?=\s|$)/.exec(params);
  return m ? Number(m[1]) : undefined;
}

/** The same `server` parameters with `weight=N` set, or removed with undefined. */
export function withNginxWeight(params: string, weight: number | undefined): string {
  const rest = params.replace(/\s+weight=\d+(?=\s|$)/g, '');
  return weight === undefined ? rest : `${rest} weight=${weight}`;
}
