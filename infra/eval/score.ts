// Scoring a run against a scenario's expected.json (format: ../../README.md "Evaluation").
// A found contradiction matches an expected one when both expected values are among its
// values (money in units, percentages as stated, measures in the unit written, dates as
// YYYY-MM or YYYY-Qn). Pure: the runner gives the report of a swarm run.
import { z } from 'zod';
import { lexicalSimilarity } from '../../shared/extract/compare.ts';
import { findDates } from '../../shared/extract/dates.ts';
import type { ContradictionReport, GoalReport } from '../demo/run.ts';

const ExpValue = z.union([z.number(), z.string().regex(/^\d{4}(-(Q[1-4]|H[12]|(0[1-9]|1[0-2])(-(0[1-9]|[12]\d|3[01]))?))?$/, 'dates as YYYY, YYYY-MM, YYYY-MM-DD, YYYY-Qn or YYYY-Hn')]);

export const Expected = z.object({
  about: z.string().optional(),
  contradictions: z.array(z.object({ about: z.string(), values: z.tuple([ExpValue, ExpValue]), resolved_by: z.string().nullable() })).default([]),
  agreements: z.array(z.object({ about: z.string(), values: z.array(ExpValue).min(1), documents: z.array(z.string()).default([]) })).default([]),
  goals: z.array(z.object({ about: z.string(), status: z.enum(['open', 'met', 'unreachable', 'superseded']), by: z.string().optional() })).default([]),
});
export type Expected = z.infer<typeof Expected>;
type ExpValue = z.infer<typeof ExpValue>;
type Side = ContradictionReport['values'][number];

/** Does a reported side state the expected value? */
export function sideHas(side: Side, v: ExpValue): boolean {
  if (typeof v === 'string') {
    if (side.value === v) return true;
    // "2026-Q4" expected, "2026-Q4" or a date inside it reported with the same label prefix.
    const want = findDates(v.replace(/^(\d{4})-Q([1-4])$/, 'Q$2 $1'))[0];
    const got = findDates(side.value.replace(/^(\d{4})-Q([1-4])$/, 'Q$2 $1'))[0];
    return !!want && !!got && want.label === got.label;
  }
  const stated = Number(side.value.replace(/[^0-9.eE+-]/g, ''));
  const close = (x: number) => Math.abs(x - v) <= Math.max(1e-9, Math.abs(v) * 0.005);
  const [lo, hi] = side.value.includes('–') ? side.value.split('–').map((x) => Number(x.replace(/[^0-9.]/g, ''))) : [stated, stated];
  return close(stated) || close(side.number) || (lo! <= v && v <= hi!);
}

function matches(c: ContradictionReport, values: readonly ExpValue[]): boolean {
  const [a, b] = c.values;
  if (!a || !b) return false;
  return (sideHas(a, values[0]!) && sideHas(b, values[1]!)) || (sideHas(a, values[1]!) && sideHas(b, values[0]!));
}

export interface ScenarioScore {
  scenario: string;
  contradictions: { expected: number; found: number; matched: number; false_positives: string[]; missed: string[] };
  recall: number;
  precision: number;
  resolutions: { right: number; of: number; wrong: string[] };
  agreements: { violated: number; of: number; which: string[] };
  goals: { right: number; of: number; wrong: string[] };
}

const ratio = (a: number, b: number) => (b === 0 ? 1 : a / b);
const describe = (c: ContradictionReport) => `${c.subject}: ${c.values.map((v) => v.value).join(' vs ')}`;

/** The found goal an expected one is about: a deadline named in both, then the words. */
function goalFor(about: string, goals: readonly GoalReport[]): GoalReport | undefined {
  const dates = findDates(about).filter((d) => !Number.isNaN(d.start));
  let best: { g: GoalReport; score: number } | undefined;
  for (const g of goals) {
    let score = lexicalSimilarity(about, g.text);
    if (dates.length && g.deadline && dates.some((d) => g.deadline === d.label || g.deadline!.startsWith(d.label) || d.label.startsWith(g.deadline!))) score += 1;
    if (!best || score > best.score) best = { g, score };
  }
  return best && best.score >= 0.3 ? best.g : undefined;
}

export function scoreScenario(scenario: string, expected: Expected, found: { contradictions: ContradictionReport[]; goals: GoalReport[] }): ScenarioScore {
  const used = new Set<number>();
  let matched = 0;
  let resolutionsRight = 0;
  const missed: string[] = [];
  const wrongRes: string[] = [];
  for (const e of expected.contradictions) {
    const i = found.contradictions.findIndex((c, k) => !used.has(k) && matches(c, e.values));
    if (i < 0) {
      missed.push(`${e.about}: ${e.values.join(' vs ')}`);
      continue;
    }
    used.add(i);
    matched++;
    const c = found.contradictions[i]!;
    const by = c.resolved ? c.resolved_by : null;
    if (by === e.resolved_by) resolutionsRight++;
    else wrongRes.push(`${e.about}: expected ${e.resolved_by ?? 'open'}, found ${by ?? 'open'}`);
  }
  // Several findings of one expected contradiction (the same pair of values) are one finding, not a false one.
  const falsePositives = found.contradictions.filter((c, k) => !used.has(k) && !expected.contradictions.some((e) => matches(c, e.values)));

  const violated: string[] = [];
  for (const a of expected.agreements) {
    const hit = found.contradictions.find((c) => {
      const sides = c.values;
      const sameValue = sides.every((s) => a.values.some((v) => sideHas(s, v)));
      const falseOne = falsePositives.includes(c) && sides.some((s) => a.values.some((v) => sideHas(s, v)) && (!a.documents.length || s.docs.some((d) => a.documents.includes(d))));
      return sameValue || falseOne;
    });
    if (hit) violated.push(`${a.about} (${describe(hit)})`);
  }

  let goalsRight = 0;
  const wrongGoals: string[] = [];
  for (const g of expected.goals) {
    const f = goalFor(g.about, found.goals);
    // "by" names the document that changed the goal's state, or, for an open goal, the one that set it.
    const ok = !!f && f.state === g.status && (!g.by || f.by === g.by || (g.status === 'open' && f.doc === g.by));
    if (ok) goalsRight++;
    else wrongGoals.push(`${g.about}: expected ${g.status}${g.by ? ` by ${g.by}` : ''}, found ${f ? `${f.state}${f.by ? ` by ${f.by}` : ''} ("${f.text.slice(0, 60)}")` : 'no such goal'}`);
  }

  const foundCount = used.size + falsePositives.length;
  return {
    scenario,
    contradictions: { expected: expected.contradictions.length, found: foundCount, matched, false_positives: falsePositives.map(describe), missed },
    recall: ratio(matched, expected.contradictions.length),
    precision: ratio(matched, matched + falsePositives.length),
    resolutions: { right: resolutionsRight, of: matched, wrong: wrongRes },
    agreements: { violated: violated.length, of: expected.agreements.length, which: violated },
    goals: { right: goalsRight, of: expected.goals.length, wrong: wrongGoals },
  };
}

export interface Overall {
  recall: number;
  precision: number;
  resolutions_right: number;
  agreements_violated: number;
  goals_right: number;
}

/** Micro-averaged over scenarios. */
export function overall(scores: readonly ScenarioScore[]): Overall {
  const sum = (f: (s: ScenarioScore) => number) => scores.reduce((a, s) => a + f(s), 0);
  const matched = sum((s) => s.contradictions.matched);
  return {
    recall: ratio(matched, sum((s) => s.contradictions.expected)),
    precision: ratio(matched, matched + sum((s) => s.contradictions.false_positives.length)),
    resolutions_right: ratio(sum((s) => s.resolutions.right), sum((s) => s.resolutions.of)),
    agreements_violated: sum((s) => s.agreements.violated),
    goals_right: ratio(sum((s) => s.goals.right), sum((s) => s.goals.of)),
  };
}
