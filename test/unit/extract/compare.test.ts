// Same figure or not, values agreeing or not, and revisions settling a dispute — the
// pure decisions behind contradictions (vectors given as tiny hand-made embeddings).
import { describe, expect, it } from 'vitest';
import { formatValue, lexicalSimilarity, periodsCompatible, sameFigure, settles, similarity, subjectText, unitsCompatible, valuesAgree } from '../../../shared/extract/compare.ts';
import type { Revision } from '../../../shared/extract/extract.ts';
import type { Statement, Value } from '../../../shared/extract/types.ts';

const st = (subject: string, metric: string, value: number, extra: Partial<Statement> = {}, v: Partial<Value> = {}): Statement => ({
  subject,
  metric,
  value: { kind: metric === 'percent' ? 'percent' : /^[A-Z]{3}$/.test(metric) ? 'money' : metric === 'date' ? 'date' : 'count', value, ...v },
  surface: '',
  ...extra,
});
const emb = (score: number) => ({ score, by: 'embedding' as const });

describe('same figure', () => {
  it('needs compatible units: money of one currency, the same counted thing, the same dimension', () => {
    expect(unitsCompatible(st('budget', 'EUR', 1), st('budget', 'EUR', 2))).toBe(true);
    expect(unitsCompatible(st('budget', 'EUR', 1), st('budget', 'USD', 2))).toBe(false);
    expect(unitsCompatible(st('lanes', 'count:lane', 4, { qualifiers: ['traffic'] }), st('lanes', 'count:lane', 2, { qualifiers: ['cycle'] }))).toBe(false);
    expect(unitsCompatible(st('lanes', 'count:lane', 4, { qualifiers: ['traffic'] }), st('lanes', 'count:lane', 4))).toBe(true);
    expect(unitsCompatible(st('staff', 'count:people', 310), st('staff', 'count:employee', 310))).toBe(true);
    expect(unitsCompatible(st('staff', 'count:patient', 310), st('staff', 'count:employee', 310))).toBe(false);
  });

  it('needs compatible periods: a quarter is not the year, Q3 is not Q4, a date falls in its quarter', () => {
    expect(periodsCompatible('FY2026', undefined)).toBe(true);
    expect(periodsCompatible('FY2026', 'FY2026')).toBe(true);
    expect(periodsCompatible('FY2025', 'FY2026')).toBe(false);
    expect(periodsCompatible('FY', '2024-Q3')).toBe(false);
    expect(periodsCompatible('2024-Q3', 'Q4')).toBe(false);
    expect(periodsCompatible('2024-Q4', '2024-12-31')).toBe(true);
    expect(periodsCompatible('Q4', '2024-12-31')).toBe(true);
    expect(periodsCompatible('LTM', 'FY2026')).toBe(true);
    expect(periodsCompatible('2026-06-30', 'FY2026')).toBe(true);
  });

  it('"Scope 1" is not "Scope 2", however close their subjects score', () => {
    const s1 = st('scope 1 emissions', 'mass_co2e', 410, { identifiers: ['scope 1'] });
    const s2 = st('scope 2 emissions', 'mass_co2e', 190, { identifiers: ['scope 2'] });
    expect(sameFigure(s1, s2, emb(0.94))).toBe(false);
    expect(sameFigure(s1, st('scope 1 emissions', 'mass_co2e', 400, { identifiers: ['scope 1'] }), emb(1))).toBe(true);
  });

  it('needs subjects that mean the same (thresholds by kind, or by shared words without vectors)', () => {
    // "ARR $48.0M" and "$6.7M of contracts": the same unit, different figures.
    expect(sameFigure(st('annual recurring revenue', 'USD', 48e6), st('contracts', 'USD', 6.7e6), emb(0.26))).toBe(false);
    expect(sameFigure(st('annual recurring revenue', 'USD', 48e6), st('annual recurring revenue', 'USD', 41.3e6), emb(1))).toBe(true);
    expect(sameFigure(st('runway', 'duration', 730), st('cash runway', 'duration', 426), emb(0.73))).toBe(true);
    const lex = similarity({ text: 'approved budget' }, { text: 'budget approved by council' });
    expect(lex.by).toBe('lexical');
    expect(sameFigure(st('approved budget', 'EUR', 62e6), st('budget approved by council', 'EUR', 62e6), lex)).toBe(true);
    expect(lexicalSimilarity('patients enrolled', 'enrollment of patients')).toBeGreaterThan(0.5);
  });

  it('spells out acronyms the scope defined, and common abbreviations, before comparing', () => {
    expect(subjectText({ subject: 'ARR' }, { ARR: 'annual recurring revenue' })).toBe('annual recurring revenue');
    expect(subjectText({ subject: 'total capex' })).toBe('total capital expenditure');
  });
});

describe('values agree', () => {
  const v = (value: number, extra: Partial<Value> = {}): Value => ({ kind: 'count', value, ...extra });
  it('exact figures within 1 %, approximations within 10 %, ranges by overlap', () => {
    expect(valuesAgree(v(62e6), v(62_000_000))).toBe(true);
    expect(valuesAgree(v(100), v(102))).toBe(false);
    expect(valuesAgree(v(100, { approx: true }), v(108))).toBe(true);
    expect(valuesAgree(v(8.5e6, { high: 9e6 }), v(8.7e6))).toBe(true);
    expect(valuesAgree(v(2, { high: 3 }), v(5))).toBe(false);
  });
  it('bounds as facts, bars as targets', () => {
    expect(valuesAgree(v(15, { plus: true }), v(20))).toBe(true);
    expect(valuesAgree(v(15, { plus: true }), v(20), { targets: true })).toBe(false);
    expect(valuesAgree(v(40, { atMost: true }), v(30))).toBe(true);
  });
  it('dates by overlap', () => {
    const d = (start: number, end: number): Value => ({ kind: 'date', value: start, high: end });
    expect(valuesAgree(d(100, 190), d(120, 150))).toBe(true);
    expect(valuesAgree(d(100, 190), d(200, 290))).toBe(false);
  });
  it('prints values as stated', () => {
    expect(formatValue({ kind: 'measure', value: 730.5, factor: 30.4375 })).toBe('24');
    expect(formatValue({ kind: 'date', value: 0, high: 1, label: '2026-Q2' })).toBe('2026-Q2');
    expect(formatValue({ kind: 'money', value: 8.5e6, high: 9e6 })).toBe('8500000–9000000');
    expect(formatValue({ kind: 'count', value: 15, plus: true })).toBe('15+');
  });
});

describe('a revision settles a dispute', () => {
  const contested = { metric: 'USD', subject: 'annual recurring revenue', period: '2026-06-30', sides: [{ kind: 'money', value: 48e6 }, { kind: 'money', value: 41.3e6 }] as [Value, Value] };
  const rev = (r: Partial<Revision>): Revision => ({ subject: 'ARR', metric: 'USD', text: '', ...r });
  it('from A to B: accepts B', () => {
    expect(settles(rev({ from: { kind: 'money', value: 48e6 }, to: { kind: 'money', value: 41.3e6 } }), contested, emb(0.3))).toEqual({ accepted: 1, how: 'restated' });
    expect(settles(rev({ from: { kind: 'money', value: 41.3e6 }, to: { kind: 'money', value: 48e6 } }), contested, emb(0.3))).toEqual({ accepted: 0, how: 'restated' });
  });
  it('a change between other values, another unit or another period settles nothing', () => {
    expect(settles(rev({ from: { kind: 'money', value: 40e6 }, to: { kind: 'money', value: 41.3e6 } }), contested, emb(1))).toBeNull();
    expect(settles(rev({ metric: 'EUR', from: { kind: 'money', value: 48e6 }, to: { kind: 'money', value: 41.3e6 } }), contested, emb(1))).toBeNull();
    expect(settles(rev({ period: 'FY2024', from: { kind: 'money', value: 48e6 }, to: { kind: 'money', value: 41.3e6 } }), contested, emb(1))).toBeNull();
    expect(settles(rev({ metric: 'percent', from: { kind: 'percent', value: 48e6 }, to: { kind: 'percent', value: 41.3e6 } }), contested, emb(1))).toBeNull();
  });
  it('accepting one value, or withdrawing the other, needs a clear subject', () => {
    expect(settles(rev({ accepted: [{ kind: 'money', value: 41.3e6 }] }), contested, emb(0.8))).toEqual({ accepted: 1, how: 'accepted' });
    expect(settles(rev({ withdrawn: [{ kind: 'money', value: 48e6 }] }), contested, emb(0.8))).toEqual({ accepted: 1, how: 'withdrawn' });
    expect(settles(rev({ accepted: [{ kind: 'money', value: 41.3e6 }] }), contested, emb(0.3))).toBeNull();
  });
});
