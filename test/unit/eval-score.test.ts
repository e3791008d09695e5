// Scoring a run against expected.json: values match whatever way they are printed,
// several findings of one expected contradiction are one, an agreement reported as a
// contradiction is caught, goals are found by deadline and words.
import { describe, expect, it } from 'vitest';
import type { ContradictionReport, GoalReport } from '../../infra/demo/run.ts';
import { Expected, overall, scoreScenario, sideHas } from '../../infra/eval/score.ts';

const side = (value: string, number: number, docs: string[]) => ({ value, number, high: null, docs, sentences: [] });
const c = (subject: string, a: ReturnType<typeof side>, b: ReturnType<typeof side>, resolved_by: string | null = null): ContradictionReport => ({
  subject, metric: 'x', unit: null, period: null, values: [a, b], resolved: !!resolved_by, resolved_by, accepted: null, resolution: null,
});
const goal = (text: string, state: GoalReport['state'], extra: Partial<GoalReport> = {}): GoalReport => ({ text, state, doc: 'd1', deadline: null, by: null, because: null, ...extra });

const expected = Expected.parse({
  contradictions: [
    { about: 'ARR', values: [48000000, 41300000], resolved_by: 'd4' },
    { about: 'timing', values: ['2026-Q2', '2026-Q4'], resolved_by: null },
  ],
  agreements: [{ about: 'budget', values: [62000000], documents: ['d1', 'd3'] }],
  goals: [{ about: 'close by 2026-10-31', status: 'unreachable', by: 'd3' }, { about: 'keep the bridge open', status: 'met' }],
});

describe('eval scoring', () => {
  it('a side matches its value as stated, by number, by range or by date label', () => {
    expect(sideHas(side('48000000', 48e6, []), 48000000)).toBe(true);
    expect(sideHas(side('24', 730.5, []), 24)).toBe(true);
    expect(sideHas(side('8500000–9000000', 8.5e6, []), 9000000)).toBe(true);
    expect(sideHas(side('2026-Q2', 20500, []), '2026-Q2')).toBe(true);
    expect(sideHas(side('2026-Q2', 20500, []), '2026-Q4')).toBe(false);
  });

  it('recall, precision, resolutions, agreements and goals', () => {
    const s = scoreScenario('t', expected, {
      contradictions: [
        c('ARR', side('48000000', 48e6, ['d1']), side('41300000', 41.3e6, ['d2']), 'd4'),
        c('annual recurring revenue', side('41300000', 41.3e6, ['d2']), side('48000000', 48e6, ['d1'])),
        c('cost', side('62000000', 62e6, ['d1']), side('71000000', 71e6, ['d2'])),
      ],
      goals: [goal("The seller's goal is to close by October 31, 2026.", 'unreachable', { deadline: '2026-10-31', by: 'd3' }), goal('keep the old bridge open for buses', 'open')],
    });
    expect(s.contradictions).toMatchObject({ expected: 2, matched: 1, missed: ['timing: 2026-Q2 vs 2026-Q4'], false_positives: ['cost: 62000000 vs 71000000'] });
    expect(s.contradictions.found).toBe(2); // the second ARR finding is the same one
    expect([s.recall, s.precision]).toEqual([0.5, 0.5]);
    expect(s.resolutions).toMatchObject({ right: 1, of: 1 });
    expect(s.agreements).toMatchObject({ violated: 1 });
    expect(s.goals).toMatchObject({ right: 1, of: 2 });
    expect(overall([s])).toEqual({ recall: 0.5, precision: 0.5, resolutions_right: 1, agreements_violated: 1, goals_right: 0.5 });
  });

  it('rejects a malformed expected.json', () => {
    expect(() => Expected.parse({ contradictions: [{ about: 'x', values: [1], resolved_by: null }] })).toThrow();
    expect(() => Expected.parse({ contradictions: [{ about: 'x', values: [1, '2026-13'], resolved_by: null }] })).toThrow();
  });
});
