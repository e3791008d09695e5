// The offline extractor on hard phrasings and on whole documents: what each figure
// measures (subject), its unit and period, how the sentence uses it, goals with
// deadlines and later word on them, revisions, and where in the document each came from.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { formatValue } from '../../../shared/extract/compare.ts';
import { definedAcronyms, extractFacts } from '../../../shared/extract/extract.ts';
import { readSentence } from '../../../shared/extract/figures.ts';
import { sentences } from '../../../shared/extract/nlp.ts';
import { segment } from '../../../shared/extract/segment.ts';

const SCENARIOS = new URL('../../../infra/demo/scenarios/', import.meta.url).pathname;
const doc = (name: string) => readFileSync(SCENARIOS + name, 'utf8');

/** subject | metric | value (as printed) | period, for each figure a sentence states or names. */
function read(text: string, refYear = 2026) {
  const s = sentences(text)[0]!;
  return readSentence(s, { refYear, offset: 0 });
}
const figs = (text: string) => read(text).figures.map((f) => `${f.mentionRole}: ${f.subject} | ${f.metric} | ${formatValue(f.value)}${f.period ? ` | ${f.period}` : ''}`);
const claims = (text: string) =>
  extractFacts(text)
    .claims.filter((c) => c.statement)
    .map((c) => `${c.statement!.subject} | ${c.statement!.metric} | ${formatValue(c.statement!.value)}${c.statement!.period ? ` | ${c.statement!.period}` : ''}`);

describe('the subject of a figure, from the parse', () => {
  it('copular and "of" statements: the noun phrase the figure measures', () => {
    expect(figs('Net revenue retention was 118% over the last twelve months.')).toEqual(['asserted: net revenue retention | percent | 118 | LTM']);
    expect(figs('The adjusted EBITDA margin for FY2026 is 14%.')).toEqual(['asserted: adjusted EBITDA margin | percent | 14 | FY2026']);
    expect(figs('As of June 30, 2026 the company reports annual recurring revenue (ARR) of $48.0 million.')).toEqual(['asserted: annual recurring revenue | USD | 48000000 | 2026-06-30']);
    expect(figs('The approved budget recorded in the council resolution is 62,000,000 euros.')).toEqual(['asserted: approved budget | EUR | 62000000']);
    expect(figs('At this burn the cash runway is 14 months, well short of the 24 months stated in the deck.')).toEqual(['asserted: cash runway | duration | 14']);
    expect(figs('Cash and equivalents at March 31, 2026: $61M.')).toEqual(['asserted: cash and equivalents | USD | 61000000 | 2026-03-31']);
    expect(figs('Reduces manual review time by an estimated 40% in pilot customers.')).toEqual(['asserted: manual review time | percent | 40']);
    expect(figs('With the escalation clause applied, the total cost of the project is now estimated at EUR 71 million.')).toEqual(['asserted: total cost of project | EUR | 71000000']);
    // Hedges are how the figure is known, not what it measures; "estimate of X" is about X.
    expect(figs('Expected annual generation is 52 GWh.')).toEqual(['asserted: annual generation | energy | 52']);
    expect(figs('Our P50 estimate of annual energy yield is 47.5 GWh.')).toEqual(['asserted: annual energy yield | energy | 47.5']);
  });

  it('counted things: the noun is the unit, and narrowing nouns stay with it', () => {
    const lanes = read('Design: 4 traffic lanes, two protected cycle lanes and a steel box girder.').figures;
    expect(lanes.map((f) => [f.metric, f.qualifiers, f.value.value])).toEqual([
      ['count:lane', ['traffic'], 4],
      ['count:lane', ['cycle'], 2],
    ]);
    expect(figs('The Phase 2 trial enrolled 420 patients across 58 sites.')[0]).toBe('asserted: patients enrolled (phase 2 trial) | count:patient | 420');
    expect(read('The Phase 2 trial enrolled 420 patients.').figures[0]!.identifiers).toEqual(['phase 2']);
    expect(figs('The customer count of 1,240 reconciles to the billing system.')).toEqual(['asserted: customer count | count:customer | 1240']);
    expect(figs('Patient visits reached 1.9 million in calendar year 2025.')).toEqual(['asserted: patient visits | count:visit | 1900000 | 2025']);
    expect(figs('Add at least one new vertical in 2025.')[0]).toMatch(/^asserted: .* \| count:vertical \| 1 \| 2025$/);
    // "the ten largest customers" selects; it does not count.
    expect(figs('22% of ARR comes from the ten largest customers.')).toEqual(['asserted: share of ARR comes largest customers | percent | 22']);
  });

  it('partitives and materials: the subject follows "of"', () => {
    const r = read('The $48.0M presented in the memorandum includes $6.7M of contracts that are signed.').figures;
    // The memorandum's figure is cited (or not read as a figure at all), never asserted here.
    expect(r.filter((f) => f.value.value === 48e6 && f.mentionRole === 'asserted')).toEqual([]);
    expect(r.find((f) => f.value.value === 6.7e6)).toMatchObject({ subject: 'contracts', mentionRole: 'asserted' });
    expect(figs('A steel box girder using about 3,400 tonnes of steel.')).toEqual(['asserted: steel | mass | 3400']);
  });

  it('dates are figures when a clause dates something, periods otherwise', () => {
    expect(figs('Topline data is expected in Q2 2026.')).toEqual(['asserted: topline data | date | 2026-Q2']);
    expect(figs('Completion is now forecast for March 2028.')).toEqual(['asserted: completion | date | 2028-03']);
    // A scheduled date is the clause's figure even beside a number ("132 kV").
    expect(figs('Connection to the 132 kV network is planned for Q3 2027.')).toEqual(['asserted: connection | voltage | 132', 'asserted: connection | date | 2027-Q3']);
    expect(figs('Revenue for Q3 was $2.1M.')).toEqual(['asserted: revenue | USD | 2100000 | 2026-Q3']);
    expect(figs('Acme Corp today reported results for the third quarter ended September 30, 2024.')).toEqual([]);
  });
});

describe('how a sentence uses a figure', () => {
  it('denied, cited and previous values are not the document\'s claims', () => {
    expect(figs('After removing capitalised development costs, the adjusted EBITDA margin is 9%, not 14%.')).toEqual([
      'asserted: adjusted EBITDA margin | percent | 9',
      'negated: adjusted EBITDA margin | percent | 14',
    ]);
    expect(figs('Churn was not 4% but 6%.')).toEqual(['negated: churn | percent | 4', 'asserted: churn | percent | 6']);
    expect(figs('Database lock is now planned for October, and topline data is expected in Q4 2026, not Q2 2026.')).toEqual([
      'asserted: database lock | date | 2026-10',
      'asserted: topline data | date | 2026-Q4',
      'negated: topline data | date | 2026-Q2',
    ]);
    expect(read('The 118% in the memorandum leaves out customers that churned.').figures.filter((f) => f.mentionRole === 'asserted')).toEqual([]);
    // Progress, not a correction: the new value is the claim, the old one is not, and nothing is revised.
    expect(figs('Operating margin improved to 12% from 9% in the prior year quarter.')).toEqual([
      'to: operating margin | percent | 12',
      'from: operating margin | percent | 9',
    ]);
    expect(read('Operating margin improved to 12% from 9% in the prior year quarter.').change?.revision).toBe(false);
  });

  it('changes: from → to, "to X from Y", "X in place of Y", "X replaces Y", "X, up from Y" with a revision', () => {
    const c = (t: string) => {
      const r = read(t);
      return r.change ? [formatValue(r.change.from.value), formatValue(r.change.to.value), r.change.revision, r.change.replacement ?? false, r.change.to.metric] : null;
    };
    expect(c('ARR is restated from $48.0M to $41.3M.')).toEqual(['48000000', '41300000', true, false, 'USD']);
    expect(c('Enrollment is corrected from 420 to 388 randomized patients.')).toEqual(['420', '388', true, false, 'count:patient']);
    expect(c('Topline data timing is revised from Q2 2026 to Q4 2026.')).toEqual(['2026-Q2', '2026-Q4', true, false, 'date']);
    expect(c('The 2025 occupancy figure has been restated to 81% from 87%.')).toEqual(['87', '81', true, false, 'percent']);
    expect(c('The revised completion date of March 2028 is accepted in place of September 2027.')).toEqual(['2027-09', '2028-03', true, false, 'date']);
    expect(c('We agree that the full-base figure of 109% replaces the 118% presented earlier.')).toEqual(['118', '109', true, true, 'percent']);
    expect(c('The plant withdrew 2.6 million cubic metres instead of 1.8 million.')).toEqual(['1800000', '2600000', true, true, 'volume']);
    expect(c('The council approves a revised budget of EUR 71 million, up from EUR 62 million.')).toEqual(['62000000', '71000000', true, false, 'EUR']);
    expect(c('The count was corrected from zero to one serious adverse event.')).toEqual(['0', '1', true, false, 'count:event']);
    // A year-on-year comparison is not a revision; "rather than" disagrees, it does not settle.
    expect(c('Revenue grew to $5M, up from $4M a year earlier.')?.[2] ?? false).toBe(false);
    expect(c('Occupancy in 2025 was 81 per cent rather than 87%.')).toBeNull();
  });

  it('phrasings first met in held-out documents', () => {
    // A preposition fused into a compound is part of the phrase; "stood at" measures, "stands by" states a view.
    expect(figs('On-time delivery stood at 96.2% across 2025.')).toEqual(['asserted: on-time delivery | percent | 96.2 | 2025']);
    expect(claims('X\n\nEBITDA: management stands by £18.5m.\n')).toEqual(['EBITDA | GBP | 18500000']);
    // A clause that is only a phrase and its figure.
    expect(figs('Revenue came to €212 million, with an EBITDA margin near 11%.')).toEqual(['asserted: revenue | EUR | 212000000', 'asserted: EBITDA margin | percent | 11']);
    // "18,000 a week" is a rate: it does not count weeks.
    expect(read('Throughput is roughly 18,000 a week.').figures[0]).toMatchObject({ metric: 'count' });
    // A replacement word anywhere between the two values; a vague head ("measure") gives way to the rest of the phrase.
    const r = read('The slot-based on-time delivery measure of 91.4% will be used from now on, superseding the 96.2% figure.');
    expect(r.change && [formatValue(r.change.from.value), formatValue(r.change.to.value), r.change.to.subject]).toEqual(['96.2', '91.4', 'on-time delivery']);
    // One figure in an accepting sentence is the one accepted.
    expect(read('We concur with the telematics count, and the memorandum will show 228 tractor units.').accepted.map((f) => formatValue(f.value))).toEqual(['228']);
    // "the 2027 electrification target" names the goal's year.
    const u = extractFacts('X\n\nThe grid upgrade will not be completed until 2029, which makes the 2027 electrification target unattainable.\n').goalUpdates;
    expect(u.map((x) => [x.state, x.dates.map((d) => d.label)])).toEqual([['unreachable', ['2027', '2029']]]);
  });

  it('phrasings first met in the held-out water utility scenario', () => {
    // A second figure sharing the verb of the first ("and Scope 2 emissions 63.5") has its own subject and identifier.
    const scopes = read('Scope 1 emissions totalled 41.2 kt CO2e and Scope 2 emissions 63.5 kt CO2e.').figures;
    expect(scopes.map((f) => [f.subject, f.identifiers, f.value.value])).toEqual([
      ['scope 1 emissions', ['scope 1'], 41_200],
      ['scope 2 emissions', ['scope 2'], 63_500],
    ]);
    // "X was N% of Y" measures X; a share of Y only when nothing else says what.
    expect(figs('Leakage was 19.4% of distribution input over the year.')).toEqual(['asserted: leakage | percent | 19.4']);
    // A clause after a colon has its own subject; the denied value names the figure disagreed with, its unit written once.
    const denial = read('We could not verify Scope 2 emissions: the supplier-specific factors give 58.9 kt CO2e rather than 63.5 kt.').figures;
    expect(denial.map((f) => [f.mentionRole, f.metric, formatValue(f.value)])).toEqual([['asserted', 'mass_co2e', '58.9'], ['negated', 'mass_co2e', '63.5']]);
    expect(denial[0]!.denies).toMatchObject({ value: 63_500 });
    // "replacing the earlier 148 million": the old value, its unit shared.
    const c = read('Abstraction for FY2025 has been amended to 152.6 million m3, replacing the earlier 148 million.').change;
    expect(c && [formatValue(c.from.value), formatValue(c.to.value), c.from.metric]).toEqual(['148000000', '152600000', 'volume']);
  });

  it('acceptance, withdrawal and disputes', () => {
    expect(read('Energy yield: the base case now adopts the independent engineer\'s P50 of 47.5 GWh per year.').accepted.map((f) => formatValue(f.value))).toEqual(['47.5']);
    expect(read('The company withdrew the 24-month runway figure.').withdrawn.map((f) => formatValue(f.value))).toEqual(['24']);
    const keep = read('We maintain that 14% is the right measure and do not accept the 9% adjustment.');
    expect(keep.disputes).toBe(true);
    expect(keep.accepted).toEqual([]);
    // "3 accepted" offers is a count, not an acceptance of a figure.
    expect(read('8 offers out; 3 accepted.').accepted).toEqual([]);
  });
});

describe('phrasings first met in the held-out clinical-trial scenario', () => {
  it('lower-case "number" before a number in words is the verb (to number = to total), not an enumerator', () => {
    expect(figs('Serious adverse events reported to date number seven, none judged related to study drug.')).toEqual(['asserted: serious adverse events | count:event | 7']);
    expect(figs('Safety is our number one priority.')).toEqual([]);
  });

  it('"at week 16" is a point on a timeline, not a count', () => {
    expect(figs('Topline readout of the primary endpoint (PASI-75 at week 16) is expected in Q2 2027.')).toEqual(['asserted: topline readout of primary endpoint | date | 2027-Q2']);
  });

  it('"3 February" is a date, not a count 3 dated February', () => {
    expect(figs('Correction to our briefing of 3 February.').filter((f) => !f.includes(' | date | '))).toEqual([]);
  });

  it('a participle of change after a noun: the noun is what moves to the date', () => {
    expect(figs('Given the enrolment shortfall, we project the primary endpoint readout slipping to Q4 2027.')).toEqual(['asserted: primary endpoint readout | date | 2027-Q4']);
  });

  it('the object of a verb of expecting or guiding, dated by "in"; an event merely dated or reported "in" stays a period', () => {
    expect(figs('On timing, we now guide to a topline readout in Q4 2027.')).toEqual(['asserted: topline readout | date | 2027-Q4']);
    expect(figs('We signed the contract in March 2026.')).toEqual([]);
    expect(figs('We report strong demand in Q3 2026.')).toEqual([]);
  });

  it('"the earlier figure of 412 should be disregarded" beside the value stated: a correction from 412 to 398', () => {
    const c = read('Having re-run the reconciliation, we confirm that 398 participants were randomised; the earlier figure of 412 should be disregarded.').change;
    expect(c && [formatValue(c.from.value), formatValue(c.to.value), c.revision, c.from.metric]).toEqual(['412', '398', true, 'count:participant']);
    // Set aside on its own, a value is withdrawn.
    expect(read('The 24-month runway figure should be disregarded.').withdrawn.map((f) => formatValue(f.value))).toEqual(['24']);
  });

  const acc = (t: string) => read(t).accepted.map((f) => formatValue(f.value));
  it('a negation that only denies a figure leaves the acceptance standing; "do not accept" does not', () => {
    expect(acc('We also accept the safety database as the record of truth: there have been nine serious adverse events, not seven.')).toEqual(['9']);
    expect(acc('We do not accept that there have been nine serious adverse events, not seven.')).toEqual([]);
  });

  it('"we now ..." states the writer\'s current figure: an acceptance of it; "now" without the writer is not', () => {
    expect(acc('On timing, we now guide to a topline readout in Q4 2027.')).toEqual(['2027-Q4']);
    expect(acc('Completion is now forecast for March 2028.')).toEqual([]);
  });

  it('a count named before a colon is what the bare numbers after it count, whoever holds each value', () => {
    expect(figs('Our concern is the serious adverse event count: the sponsor\'s materials still say seven while the safety database holds nine.')).toEqual([
      'asserted: serious adverse event count | count:event | 7',
      'asserted: serious adverse event count | count:event | 9',
    ]);
    expect(figs('The number of incidents: the vendor reports 14 and the auditor 17.').map((f) => f.split(' | ').slice(1).join(' | '))).toEqual(['count:incident | 14', 'count:incident | 17']);
  });
});

describe('phrasings first met in the held-out cybersecurity-incident scenario', () => {
  it('a duration between an event and what a verb did to its object measures the object\'s delay from the event', () => {
    expect(figs('In addition, our intake system logged your notification 85 hours after the detection time you reported.')).toEqual(['asserted: notification after detection | duration | 85']);
    expect(figs('The board reviewed the plan 10 days after the audit.')).toEqual(['asserted: plan after audit | duration | 10']);
    // No direct object right before the duration, or no duration: the rule does not apply.
    expect(figs('The patient was discharged 4 days after surgery.')).toEqual(['asserted: patient | duration | 4']);
    expect(figs('The committee met for 3 hours after lunch.')).toEqual(['asserted: committee | duration | 3']);
    expect(figs('Sales rose 12% after the merger.')).toEqual(['asserted: sales | percent | 12']);
  });

  it('"gives the number of X as N": a bare number counts X', () => {
    expect(figs('Your notice to customers gives the number of affected records as about 180,000.')).toEqual(['asserted: affected records | count:record | 180000']);
    expect(figs('The audit gives the total of unpaid invoices as 37.')).toEqual(['asserted: unpaid invoices | count:invoice | 37']);
    // "as" that does not follow "the number of X" leaves the count as it was.
    expect(figs('He joined as one of 12 partners.')).toEqual(['asserted: partners joined | count:partner | 12']);
  });

  it('a figure the writer disputes ("disagree with the", "dispute the") is denied, not the writer\'s claim', () => {
    expect(figs('We disagree with the 85-hour figure.')).toEqual(['negated: figure | duration | 85']);
    expect(figs('We dispute the 9% adjustment.')).toEqual(['negated: adjustment | percent | 9']);
    // A dispute verb that does not govern the figure leaves it asserted.
    expect(figs('The union disputed the plan, which cuts 300 jobs.')).toEqual(['asserted: jobs (cuts) | count:job | 300']);
    expect(figs('The court rejected 3 of the 5 claims.').map((f) => f.split(':')[0])).toEqual(['asserted', 'asserted']);
    // Declining is not disputing: the offer was made at $5M.
    expect(figs('The board rejected the $5M offer.').map((f) => f.split(':')[0])).toEqual(['asserted']);
  });
});

describe('phrasings first met in the held-out real-estate scenario', () => {
  it('a term that runs until a date ends on it: the date is a figure of the term, not a bound', () => {
    const dated = (t: string) => extractFacts(t).claims.flatMap((c) => (c.statement?.metric === 'date' ? [`${c.statement.subject} ${formatValue(c.statement.value)}`] : []));
    expect(dated("The DIY superstore's lease runs until December 2029.")).toEqual(["DIY superstore's lease 2029-12"]);
    expect(dated('The facility agreement remains in force until 30 June 2031.')).toHaveLength(1);
    // Work done until a date, or a state held until it, dates nothing.
    expect(dated('We will continue to monitor the site until March 2027.')).toEqual([]);
    expect(dated('The offer remains open until 30 June 2027.')).toEqual([]);
    expect(dated('He lasted until 2019 as chief executive.')).toEqual([]);
  });

  it('a goal word inside a comparison with a goal reports against it, it sets no goal', () => {
    const goals = (t: string) => extractFacts(t).goals.map((g) => g.text);
    expect(goals("The acquisition completed on 7 July 2027, a week later than the vendor's target.")).toEqual([]);
    expect(goals('Shipments were ahead of target in March.')).toEqual([]);
    expect(goals('Output fell short of the objective for the second year.')).toEqual([]);
    // A goal set in the same sentence still is one.
    expect(goals('We aim to finish the rollout ahead of the 2026 target.')).toEqual(['We aim to finish the rollout ahead of the 2026 target.']);
    expect(goals('Against this backdrop, our goal is to reach 50 deployments by end of 2025.')).toHaveLength(1);
  });
});

describe('documents', () => {
  it('segments keep their offsets: every figure points at its own words', () => {
    const text = doc('harbor/01-information-memorandum.md');
    const facts = extractFacts(text);
    const withSpans = facts.claims.filter((c) => c.statement?.span);
    expect(withSpans.length).toBeGreaterThan(4);
    for (const c of withSpans) expect(text.slice(...c.statement!.span!).replace(/\s+/g, ' ')).toContain(c.statement!.surface.split(' ')[0]!.replace(/[.,]$/, ''));
    for (const c of facts.claims) expect(text.slice(...c.span!).replace(/\s+/g, ' ').trim()).toBe(c.text);
  });

  it('tables: a row is a figure, the header names its period', () => {
    expect(claims('REPORT\n\n| Metric | FY2025 |\n|---|---|\n| Revenue | $48.0M |\n| Scope 1 emissions | 410 kt CO2e |\n| Scope 2 emissions | 190 kt CO2e |\n')).toEqual([
      'revenue | USD | 48000000 | FY2025',
      'scope 1 emissions | mass_co2e | 410 | FY2025',
      'scope 2 emissions | mass_co2e | 190 | FY2025',
    ]);
  });

  it('lists: bullets and labelled lines, the label naming what a line is about', () => {
    expect(claims('UPDATE\n\nHighlights:\n- Fleet of 120 trucks and a dozen drones.\n- Cash runway of 18 months.\n\nEBITDA: management stands by £18.5m.\n')).toEqual([
      'trucks | count:truck | 120',
      'drones | count:drone | 12',
      'cash runway | duration | 18',
      'EBITDA | GBP | 18500000',
    ]);
  });

  it('goals with deadlines, and later word on them', () => {
    const h1 = extractFacts(doc('harbor/01-information-memorandum.md'));
    expect(h1.goals.map((g) => [g.text, g.deadline?.label])).toEqual([['The seller\'s goal is to sign and close the transaction by October 31, 2026.', '2026-10-31']]);
    const h3 = extractFacts(doc('harbor/03-legal-review.txt'));
    expect(h3.goals).toEqual([]);
    expect(h3.goalUpdates.map((u) => [u.state, u.dates.map((d) => d.label)])).toEqual([['unreachable', ['2026-10-31', '2026-12-15']]]);
    const h4 = extractFacts(doc('harbor/04-seller-response.txt'));
    expect(h4.goalUpdates.map((u) => [u.state, u.deadline?.label])).toEqual([['superseded', '2027-01-31']]);
    expect(h4.goals.map((g) => g.deadline?.label)).toEqual(['2027-01-31']);
    // A list of goals is several goals; "on track to meet our targets" reports, it sets none.
    const a2 = extractFacts(doc('acme/02-strategy-memo.txt'));
    expect(a2.goals.map((g) => g.text)).toEqual(expect.arrayContaining(['close at least two enterprise logos in regulated sectors', 'achieve SOC 2 certification', 'onboard 15+ engineers by Dec 31']));
    expect(extractFacts(doc('acme/01-announcement.txt')).goals.map((g) => g.text)).not.toContain('We are on track to meet our full-year targets.');
    // A goal's target is a figure too (role target), so a different target elsewhere contradicts it.
    expect(a2.claims.find((c) => c.statement?.metric === 'count:engineer' && c.statement.role === 'target')?.statement?.value).toMatchObject({ value: 15, plus: true });
  });

  it('revisions of a document, with their kind', () => {
    const m4 = extractFacts(doc('meridian/04-licensing-memo.txt'));
    expect(m4.revisions.map((r) => [r.metric, formatValue(r.from!), formatValue(r.to!), r.kind])).toEqual([
      ['count:patient', '420', '388', 'revision'],
      ['date', '2026-Q2', '2026-Q4', 'revision'],
      ['duration', '24', '14', 'revision'],
    ]);
    // The dispute stays open: no revision in "we do not accept the 9% adjustment".
    expect(extractFacts(doc('harbor/04-seller-response.txt')).revisions.map((r) => r.subject)).toEqual(['ARR', 'net revenue retention']);
  });

  it('acronyms the document defines', () => {
    expect(definedAcronyms('the company reports annual recurring revenue (ARR) of $48.0 million and net revenue retention (NRR)')).toEqual({ ARR: 'annual recurring revenue', NRR: 'net revenue retention' });
    expect(definedAcronyms('Acme Corp (ACME) today reported')).toEqual({});
  });

  it('layout: title, headings, bullets, labels and header fields', () => {
    const segs = segment('TITLE\n\nHiring\n- 8 offers out; 3 accepted.\n\nRisks:\n- Risk: tight market. Mitigation: widen.\nPrepared for the buyer by an independent firm\nDate: 2026-08-14\n');
    expect(segs.map((s) => [s.kind, s.heading ?? null, s.label ?? null, s.text])).toEqual([
      ['title', null, null, 'TITLE'],
      ['heading', null, null, 'Hiring'],
      ['bullet', 'Hiring', null, '8 offers out; 3 accepted.'],
      ['heading', null, null, 'Risks'],
      ['bullet', 'Risks', 'Risk', 'tight market. Mitigation: widen.'],
      ['paragraph', 'Risks', null, 'Prepared for the buyer by an independent firm'],
      ['paragraph', 'Risks', 'Date', '2026-08-14'],
    ]);
  });

  it('a one-line document is body, not a title: its sentence is read (the title is derived from it)', () => {
    expect(segment('We will hire 20 engineers in Q4.\n').map((s) => s.kind)).toEqual(['paragraph']);
    const f = extractFacts('We will hire 20 engineers in Q4.');
    expect(f.title).toBe('We will hire 20 engineers in Q4.');
    expect(f.claims.map((c) => c.text)).toEqual(['We will hire 20 engineers in Q4.']);
    expect(segment('Memo\nWe will hire 20 engineers in Q4.').map((s) => s.kind)).toEqual(['title', 'paragraph']);
  });
});
