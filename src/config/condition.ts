// An analysis query's bound (`analysis.queries[].condition`): `< 0.01`, `<= 0.3`, `> 0.99`, `>= 100`.
// Parsed here for the config's check, used by the analysis' judge (gates/analysis.ts).

export type Comparison = '<' | '<=' | '>' | '>=';

export interface Condition {
  readonly op: Comparison;
  readonly bound: number;
  /** As written, normalised: `< 0.01`. */
  readonly text: string;
}

const FORM = /^\s*(<=|>=|<|>)\s*(-?(?:\d+(?:\.\d*)?|\.\d+)(?:e[+-]?\d+)?)\s*$/i;

/** `< 0.01` -> { op: '<', bound: 0.01 }; anything else throws, naming the forms it takes. */
export function parseCondition(text: string): Condition {
  const match = FORM.exec(text);
  if (!match) throw new Error(`"${text}" is not a bound: write an operator (<, <=, >, >=) and a number, e.g. "< 0.01"`);
  const op = match[1] as Comparison;
  const bound = Number(match[2]);
  return { op, bound, text: `${op} ${match[2]}` };
}

/** Whether `value` meets the condition. */
export function holds(condition: Condition, value: number): boolean {
  switch (condition.op) {
    case '<':
      return value < condition.bound;
    case '<=':
      return value <= condition.bound;
    case '>':
      return value > condition.bound;
    case '>=':
      return value >= condition.bound;
  }
}
