// Numbers and dates as documents write them, and property tests that a figure's
// value survives being written another way (separators, magnitudes, currency words).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { datesOverlap, findDates } from '../../../shared/extract/dates.ts';
import { findNumbers, wordsValue } from '../../../shared/extract/numbers.ts';

const nums = (t: string) => {
  const dates = findDates(t, 2026);
  return findNumbers(t, dates.map((d) => [d.at, d.to] as const));
};
const one = (t: string) => {
  const n = nums(t);
  expect(n, t).toHaveLength(1);
  return n[0]!;
};

describe('numbers', () => {
  it('reads separators, magnitudes and currencies written as symbols, codes or words', () => {
    expect(one('62,000,000 euros')).toMatchObject({ kind: 'money', value: 62e6, currency: 'EUR' });
    expect(one('EUR 62 million')).toMatchObject({ kind: 'money', value: 62e6, currency: 'EUR' });
    expect(one('EUR 0.9 million')).toMatchObject({ kind: 'money', value: 0.9e6, currency: 'EUR' });
    expect(one('$48.0M')).toMatchObject({ kind: 'money', value: 48e6, currency: 'USD' });
    expect(one('US$5m')).toMatchObject({ kind: 'money', value: 5e6, currency: 'USD' });
    expect(one('€3.5bn')).toMatchObject({ kind: 'money', value: 3.5e9, currency: 'EUR' });
    expect(one('£142m')).toMatchObject({ kind: 'money', value: 142e6, currency: 'GBP' });
    expect(one('1.2bn')).toMatchObject({ kind: 'count', value: 1.2e9 });
    expect(one('41.5 million US dollars')).toMatchObject({ kind: 'money', value: 41.5e6, currency: 'USD' });
  });

  it('reads percentages, points, ranges, approximations, bounds and plus signs', () => {
    expect(one('~66%')).toMatchObject({ kind: 'percent', value: 66, approx: true });
    expect(one('81 per cent')).toMatchObject({ kind: 'percent', value: 81 });
    expect(one('3 percentage points')).toMatchObject({ kind: 'points', value: 3 });
    expect(one('50 bps')).toMatchObject({ kind: 'points', value: 0.5 });
    expect(one('15+ engineers')).toMatchObject({ value: 15, plus: true });
    expect(one('10-15%')).toMatchObject({ kind: 'percent', value: 10, high: 15 });
    expect(one('$8.5M–$9.0M')).toMatchObject({ kind: 'money', value: 8.5e6, high: 9e6 });
    expect(one('2.5 to 3 million tonnes')).toMatchObject({ kind: 'measure', value: 2.5e6, high: 3e6 });
    expect(one('between 10 and 12 sites')).toMatchObject({ value: 10, high: 12 });
    expect(one('at least two logos')).toMatchObject({ value: 2, atLeast: true });
    expect(one('up to 40% of volumes')).toMatchObject({ value: 40, atMost: true });
    expect(one('an estimated 40%')).toMatchObject({ value: 40, approx: true });
  });

  it('reads units of measurement into their dimension, keeping what was written', () => {
    expect(one('3,400 tonnes of steel')).toMatchObject({ kind: 'measure', value: 3400, unit: { dim: 'mass' } });
    expect(one('3,400 t')).toMatchObject({ kind: 'measure', value: 3400, unit: { dim: 'mass' } });
    expect(one('2.6 million cubic metres')).toMatchObject({ kind: 'measure', value: 2.6e6, unit: { dim: 'volume' } });
    expect(one('2,600,000 m3')).toMatchObject({ kind: 'measure', value: 2.6e6, unit: { dim: 'volume' } });
    expect(one('410 kt CO2e')).toMatchObject({ kind: 'measure', value: 410_000, unit: { dim: 'mass_co2e', qualifier: 'CO2e' } });
    expect(one('52 GWh')).toMatchObject({ kind: 'measure', value: 52_000, unit: { dim: 'energy' } });
    expect(one('24 months')).toMatchObject({ kind: 'measure', value: 24 * 30.4375, unit: { dim: 'duration', label: 'months' } });
    expect(one('2–3 weeks')).toMatchObject({ kind: 'measure', value: 14, high: 21 });
    // A unit inside a compound is not the number's unit.
    expect(one('two day-surgery units')).toMatchObject({ kind: 'count', value: 2 });
  });

  it('reads numbers written in words', () => {
    expect(wordsValue('zero')).toBe(0);
    expect(wordsValue('twenty-five')).toBe(25);
    expect(wordsValue('one hundred and twenty')).toBe(120);
    expect(wordsValue('a dozen')).toBe(12);
    expect(wordsValue('two and three')).toBeUndefined();
    expect(one('a dozen trucks')).toMatchObject({ value: 12, words: true });
    expect(one('corrected from zero')).toMatchObject({ value: 0 });
  });

  it('leaves identifiers, ordinals, times and dates alone', () => {
    expect(nums('MRD-114 and COVID-19')).toEqual([]);
    expect(nums('the 1st item at 10:30')).toEqual([]);
    expect(nums('Decision 2026/118')).toEqual([]);
    expect(nums('Completion by 2027-09-30, or in Q4 2026.')).toEqual([]);
  });
});

describe('dates', () => {
  const labels = (t: string, year?: number) => findDates(t, year).map((d) => d.label);

  it('reads the forms documents use, as intervals with a label', () => {
    expect(labels('Topline data is expected in Q2 2026, not Q4 2026.')).toEqual(['2026-Q2', '2026-Q4']);
    expect(labels('completion September 2027 vs March 2028')).toEqual(['2027-09', '2028-03']);
    expect(labels('at June 30, 2026 and 30 June 2026 and 2026-06-30')).toEqual(['2026-06-30', '2026-06-30', '2026-06-30']);
    expect(labels('by the end of 2026; in FY2025; H1 2025; in 2025')).toEqual(['2026-12', 'FY2025', '2025-H1', '2025']);
    expect(labels('the third quarter of 2024')).toEqual(['2024-Q3']);
    // Without a year written, the document's year completes the date.
    expect(labels('planned for October; Dec 31; mid-November', 2024)).toEqual(['2024-10', '2024-12-31', '2024-11']);
    // "may" the verb is not May.
    expect(labels('the authority may restrict works', 2026)).toEqual([]);
    // A day before a month name, the year left out: the document's year completes it.
    expect(labels('Correction to our briefing of 3 February.', 2026)).toEqual(['2026-02-03']);
    expect(labels('the 3 February 2025 briefing', 2026)).toEqual(['2025-02-03']);
  });

  it('overlap decides agreement: October 2026 is in Q4 2026, September 2027 is not March 2028', () => {
    const [q4, oct] = findDates('Q4 2026 October 2026');
    expect(datesOverlap(q4!, oct!)).toBe(true);
    const [sep, mar] = findDates('September 2027 March 2028');
    expect(datesOverlap(sep!, mar!)).toBe(false);
  });
});

describe('a value survives reformatting (property tests)', () => {
  const MAGS: [string, number][] = [['', 1], [' thousand', 1e3], ['k', 1e3], [' million', 1e6], ['M', 1e6], ['m', 1e6], [' mn', 1e6], [' billion', 1e9], ['bn', 1e9]];
  const CURRENCIES: [string, string, string][] = [
    ['$', '', 'USD'], ['USD ', '', 'USD'], ['', ' USD', 'USD'], ['', ' dollars', 'USD'],
    ['€', '', 'EUR'], ['EUR ', '', 'EUR'], ['', ' euros', 'EUR'], ['£', '', 'GBP'], ['', ' pounds', 'GBP'], ['CHF ', '', 'CHF'],
  ];
  const withSeparators = (n: number) => n.toLocaleString('en-US', { maximumFractionDigits: 2 });

  it('money: symbol, code or word, before or after, with any magnitude', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 999_999 }), fc.integer({ min: 0, max: 2 }), fc.constantFrom(...MAGS), fc.constantFrom(...CURRENCIES), (int, decimals, [mag, factor], [pre, post, code]) => {
        const n = int / 10 ** decimals;
        const written = `${pre}${withSeparators(n)}${mag}${post}`;
        const m = one(`The budget is ${written}.`);
        expect(m.kind).toBe('money');
        expect(m.currency).toBe(code);
        expect(m.value).toBeCloseTo(n * factor, 6);
      }),
      { numRuns: 400 },
    );
  });

  it('plain numbers: with or without thousands separators, the same value', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1000, max: 999_999_999 }), (n) => {
        const a = one(`We counted ${n} visits.`);
        const b = one(`We counted ${withSeparators(n)} visits.`);
        expect(a.value).toBe(n);
        expect(b.value).toBe(n);
      }),
      { numRuns: 300 },
    );
  });

  it('a magnitude word and the digits it stands for are the same value', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 9999 }), fc.constantFrom<[string, number]>([' million', 1e6], [' billion', 1e9], [' thousand', 1e3]), (tenths, [word, factor]) => {
        const n = tenths / 10;
        const short = one(`EUR ${n}${word}`);
        const long = one(`${withSeparators(Math.round(n * factor))} euros`);
        expect(short.value).toBeCloseTo(long.value, 3);
      }),
      { numRuns: 300 },
    );
  });

  it('percentages: %, per cent, percent', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 1000 }), fc.constantFrom('%', ' per cent', ' percent', ' pct'), (tenths, sign) => {
        const m = one(`Margin was ${tenths / 10}${sign}.`);
        expect(m.kind).toBe('percent');
        expect(m.value).toBeCloseTo(tenths / 10, 9);
      }),
      { numRuns: 200 },
    );
  });
});
