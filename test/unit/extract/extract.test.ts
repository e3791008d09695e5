import { readFileSync, readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { findContradictions, resolves, type SourcedStatement } from '../../../shared/extract/contradictions.ts';
import { extractFacts } from '../../../shared/extract/extract.ts';
import { sentences } from '../../../shared/extract/nlp.ts';
import { period, quantities } from '../../../shared/extract/quantities.ts';
import { segment } from '../../../shared/extract/segment.ts';

const ACME = new URL('../../../infra/demo/scenarios/acme/', import.meta.url).pathname;
const docs = readdirSync(ACME).filter((f) => /^\d\d-.*\.txt$/.test(f)).sort();
const acme = Object.fromEntries(docs.map((f) => [f, extractFacts(readFileSync(ACME + f, 'utf8'))]));

const q = (s: string) => quantities(sentences(s)[0]!.tokens);
const p = (s: string) => period(sentences(s)[0]!.tokens);

describe('quantities', () => {
  it('reads money with magnitude, ranges, percents, approximations and plus signs', () => {
    expect(q('Revenue for Q3 was $2.1M, up 15% year over year.').map((x) => [x.kind, x.value, x.currency])).toEqual([
      ['money', 2_100_000, 'USD'],
      ['percent', 15, undefined],
    ]);
    expect(q('full-year revenue outlook remains $8.5M–$9.0M.')).toMatchObject([{ kind: 'money', value: 8_500_000, high: 9_000_000 }]);
    expect(q('hire approximately 20 engineers in Q4')).toMatchObject([{ value: 20, unit: 'engineers', approx: true }]);
    expect(q('onboard 15+ engineers by Dec 31')).toMatchObject([{ value: 15, unit: 'engineers', plus: true }]);
    expect(q('we may miss the 20-engineer target')).toMatchObject([{ value: 20, unit: 'engineers' }]);
    expect(q('APAC launch delayed by 2–3 weeks')).toMatchObject([{ value: 2, high: 3, unit: 'weeks' }]);
    expect(q('close at least two enterprise logos')).toMatchObject([{ value: 2, unit: 'customers', atLeast: true }]);
  });

  it('ignores dates, years, enumerators and product names', () => {
    expect(q('SOC 2 audit scheduled for week of Nov 11.')).toEqual([]);
    expect(q('Achieve 50 production deployments by end of 2025.')).toMatchObject([{ value: 50, unit: 'deployments' }]);
    expect(q('(1) complete the rollout')).toEqual([]);
  });

  it('tells a revision and a previous value from a range', () => {
    expect(q('We have revised our hiring target from 20 to 15 engineers for Q4.').map((x) => [x.value, x.role, x.unit])).toEqual([
      [20, 'from', 'engineers'],
      [15, 'to', 'engineers'],
    ]);
    expect(q('operating margin improved to 12% from 9% in the prior year').map((x) => [x.value, x.role])).toEqual([
      [12, undefined],
      [9, 'previous'],
    ]);
  });

  it('normalises periods', () => {
    expect(p('hire 20 engineers in Q4')).toBe('Q4');
    expect(p('onboard 15+ engineers by Dec 31')).toBe('Q4');
    expect(p('full-year revenue outlook remains $8.5M')).toBe('FY');
    expect(p('Achieve 50 deployments by end of 2025')).toBe('FY2025');
    expect(p('Revenue for Q3 2024 was $2.1M')).toBe('Q3 2024');
    expect(p('No period here')).toBeUndefined();
  });
});

describe('segment', () => {
  it('finds the title, headings, bullets and labels', () => {
    const segs = segment('TITLE\n\nHiring\n- 8 offers out; 3 accepted.\n\nRisks:\n- Risk: tight market. Mitigation: widen.\n');
    expect(segs.map((s) => [s.kind, s.heading ?? null, s.label ?? null, s.text])).toEqual([
      ['title', null, null, 'TITLE'],
      ['heading', null, null, 'Hiring'],
      ['bullet', 'Hiring', null, '8 offers out; 3 accepted.'],
      ['heading', null, null, 'Risks'],
      ['bullet', 'Risks', 'Risk', 'tight market. Mitigation: widen.'],
    ]);
  });
});

describe('extractFacts on the Acme documents', () => {
  const figures = (f: string) =>
    acme[f]!.claims.filter((c) => c.statement).map((c) => `${c.statement!.subject}|${c.statement!.metric}|${c.statement!.period ?? '-'}=${c.statement!.value.value}`);

  it('reads the earnings release', () => {
    const d = acme['01-announcement.txt']!;
    expect(d.title).toBe('ACME CORP — Q3 2024 EARNINGS RELEASE');
    expect(figures('01-announcement.txt')).toEqual([
      'revenue|USD|Q3=2100000',
      'revenue|percent|Q3=15',
      'operating margin|percent|-=12',
      'hiring|engineers|Q4=20',
      'revenue guidance|USD|FY=8500000',
    ]);
    expect(d.goals.map((g) => g.text)).toContain(
      'The company reiterated its goal to hire approximately 20 engineers in Q4, with a focus on security and compliance.',
    );
    // "No guidance was updated" says nothing changed: not a revision.
    expect(d.revisions).toEqual([]);
  });

  it('reads goals, risks and assumptions of the strategy memo', () => {
    const d = acme['02-strategy-memo.txt']!;
    expect(d.date).toBe('2024-10-15');
    expect(d.goals.map((g) => g.text)).toEqual([
      'complete the Nexus rollout in APAC',
      'pass the upcoming SOC 2 audit',
      'hit the engineering hiring target without diluting quality',
      'close at least two enterprise logos in regulated sectors',
      'achieve SOC 2 certification',
      'onboard 15+ engineers by Dec 31',
    ]);
    expect(d.risks.map((r) => r.severity)).toEqual(['high', 'high', 'medium']);
    expect(d.risks[0]).toMatchObject({ text: 'Talent market remains tight; we may miss the 20-engineer target', mitigation: expect.stringMatching(/^broaden geography/) });
    expect(d.assumptions).toHaveLength(3);
    expect(figures('02-strategy-memo.txt')).toContain('hiring|engineers|Q4=15');
  });

  it('reads the board follow-up as a revision of the hiring target', () => {
    const d = acme['05-follow-up.txt']!;
    expect(d.revisions[0]).toMatchObject({ subject: 'hiring', metric: 'engineers', period: 'Q4', from: 20, to: 15 });
    expect(d.revisions[1]).toMatchObject({ subject: 'hiring', metric: 'engineers', values: [20, 15] });
    expect(figures('05-follow-up.txt')).toEqual([
      'revenue|USD|Q3=2100000',
      'revenue|percent|Q3=15',
      'revenue guidance|USD|FY=8500000',
      'hiring|engineers|Q4=15',
    ]);
  });
});

describe('contradictions across the Acme documents', () => {
  const statementsUpTo = (n: number): SourcedStatement[] =>
    docs.slice(0, n).flatMap((f) => acme[f]!.claims.filter((c) => c.statement).map((c, i) => ({ id: `${f}#${i}`, doc: f, statement: c.statement! })));

  it('finds nothing in the first document alone', () => {
    expect(findContradictions(statementsUpTo(1))).toEqual([]);
  });

  it('finds the hiring target contradiction once both figures are known, and nothing else', () => {
    const found = findContradictions(statementsUpTo(2));
    expect(found.map((c) => [c.subject, c.metric, c.sides.map((s) => s.value.value).sort()])).toEqual([['hiring', 'engineers', [15, 20]]]);
    const all = findContradictions(statementsUpTo(5));
    expect(all.map((c) => c.subject)).toEqual(['hiring']);
    expect(all[0]!.sides.flatMap((s) => s.docs).sort()).toEqual(
      expect.arrayContaining(['01-announcement.txt', '02-strategy-memo.txt', '03-meeting-notes.txt']),
    );
  });

  it('is resolved by the board follow-up and by nothing earlier', () => {
    const [c] = findContradictions(statementsUpTo(4));
    expect(docs.slice(0, 4).flatMap((f) => acme[f]!.revisions).filter((r) => resolves(r, c!))).toEqual([]);
    expect(acme['05-follow-up.txt']!.revisions.filter((r) => resolves(r, c!))).toHaveLength(2);
  });

  it('does not flag agreeing restatements or unrelated figures', () => {
    const s = (subject: string, metric: string, value: number, extra: object = {}) => ({ subject, metric, value: { kind: 'count' as const, value, ...extra }, surface: '' });
    expect(findContradictions([
      { id: 'a', doc: 'd1', statement: s('revenue', 'USD', 2.1e6) },
      { id: 'b', doc: 'd2', statement: s('revenue', 'USD', 2.1e6) },
      { id: 'c', doc: 'd2', statement: s('revenue guidance', 'USD', 8.5e6) },
      { id: 'd', doc: 'd3', statement: s('hiring', 'engineers', 20, { approx: true }) },
      { id: 'e', doc: 'd4', statement: s('hiring', 'engineers', 21) },
      { id: 'f', doc: 'd4', statement: { ...s('hiring', 'engineers', 15), period: 'Q1' } },
      { id: 'g', doc: 'd5', statement: { ...s('hiring', 'engineers', 30), period: 'Q2' } },
    ]).map((c) => c.sides.map((x) => x.value.value))).toEqual([
      [20, 15],
      [20, 30],
    ]);
  });
});
