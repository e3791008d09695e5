// Across documents: are two statements about the same figure, do their values
// agree, and does a later revision settle a disagreement? Two statements are the
// same figure when their units are compatible (money with money of the same
// currency, m3 with cubic metres, traffic lanes not with cycle lanes), their periods
// are (FY2026 with FY2026, not Q3 with the full year), their identifiers are
// ("Scope 1" is not "Scope 2") and their subjects mean the same — by the cosine of
// the subject phrases' embeddings (on-device MiniLM), or, without vectors, by the
// words they share. Pure.
import { datesOverlap, type DateValue } from './dates.ts';
import type { Revision } from './extract.ts';
import type { Statement, Value } from './types.ts';

/**
 * Subject similarity from which two compatible statements are the same figure, by
 * kind. Measured with all-MiniLM-L6-v2 on subject phrases of the sample cases (see
 * README "Document understanding"): restated subjects 0.62–1.0 ("completion" /
 * "revised completion date" 0.62, "runway" / "cash runway" 0.73), different figures of
 * one unit up to 0.59 ("share of ARR from the largest customers" / "share of ARR with
 * change-of-control termination"). Counted things already share their noun, so less
 * of the subject has to agree; so do physical measures (a scope states few energies or masses, and
 * "annual generation" / "annual energy yield" score 0.62).
 */
export const SAME_FIGURE_MIN: Record<string, number> = { count: 0.55, date: 0.55, money: 0.6, measure: 0.5, percent: 0.65, points: 0.65, ratio: 0.65 };
/** Lexical similarity thresholds when either side has no vector. */
export const SAME_FIGURE_MIN_LEXICAL: Record<string, number> = { count: 0.34, date: 0.5, money: 0.5, measure: 0.5, percent: 0.5, points: 0.5, ratio: 0.5 };
/** A revision naming both contested values settles a contradiction with only this much subject overlap. */
export const RESOLUTION_MIN = 0.25;
/** Accepting or withdrawing one value (without naming the other) needs a clearer subject match. */
export const ACCEPTANCE_MIN = 0.5;

const kindOf = (s: Statement) => (s.metric.startsWith('count') ? 'count' : s.value.kind);

/** Counted units that name the same people or things. A hint for matching, never a gate on extraction. */
const UNIT_SYNONYMS: Record<string, string> = {
  employee: 'person', people: 'person', person: 'person', staff: 'person', worker: 'person', fte: 'person', headcount: 'person', hire: 'person',
  customer: 'customer', client: 'customer', logo: 'customer', account: 'customer',
  patient: 'patient', participant: 'patient', subject: 'patient',
};
const unitClass = (metric: string) => {
  const noun = metric.slice('count:'.length);
  return UNIT_SYNONYMS[noun] ?? noun;
};

export function unitsCompatible(a: Statement, b: Statement): boolean {
  if (a.metric === b.metric) return qualifiersCompatible(a, b);
  if (a.metric.startsWith('count:') && b.metric.startsWith('count:')) return unitClass(a.metric) === unitClass(b.metric) && qualifiersCompatible(a, b);
  return false;
}

/** "traffic lanes" and "cycle lanes" are different things; "lanes" is either. */
function qualifiersCompatible(a: Statement, b: Statement): boolean {
  const qa = a.qualifiers ?? [];
  const qb = b.qualifiers ?? [];
  if (!qa.length || !qb.length) return true;
  return qa.some((q) => qb.includes(q));
}

export function identifiersCompatible(a: Statement, b: Statement): boolean {
  const ia = a.identifiers ?? [];
  const ib = b.identifiers ?? [];
  if (!ia.length || !ib.length) return true;
  return ia.some((x) => ib.includes(x));
}

const QUARTER = /^(?:(\d{4})-)?Q([1-4])$/;
const YEARLY = /^(FY\d{4}|FY|\d{4}|LTM|YTD|early-\d{4}|mid-\d{4}|late-\d{4})$/;

function periodValue(p: string): DateValue | undefined {
  const q = QUARTER.exec(p);
  if (q) {
    if (!q[1]) return { start: NaN, end: NaN, granularity: 'quarter', label: `Q${q[2]}` };
    const y = Number(q[1]);
    const m = 3 * Number(q[2]) - 2;
    return { start: Date.UTC(y, m - 1, 1) / 864e5, end: Date.UTC(y, m + 2, 0) / 864e5, granularity: 'quarter', label: p };
  }
  const h = /^(\d{4})-H([12])$/.exec(p);
  if (h) {
    const y = Number(h[1]);
    const m = 6 * Number(h[2]) - 5;
    return { start: Date.UTC(y, m - 1, 1) / 864e5, end: Date.UTC(y, m + 5, 0) / 864e5, granularity: 'half', label: p };
  }
  const d = /^(\d{4})-(\d{2})(?:-(\d{2}))?$/.exec(p);
  if (d) {
    const [y, mo] = [Number(d[1]), Number(d[2])];
    if (d[3]) {
      const day = Date.UTC(y, mo - 1, Number(d[3])) / 864e5;
      return { start: day, end: day, granularity: 'day', label: p };
    }
    return { start: Date.UTC(y, mo - 1, 1) / 864e5, end: Date.UTC(y, mo, 0) / 864e5, granularity: 'month', label: p };
  }
  const y = /^(?:FY)?(\d{4})$/.exec(p);
  if (y) return { start: Date.UTC(+y[1]!, 0, 1) / 864e5, end: Date.UTC(+y[1]!, 11, 31) / 864e5, granularity: 'year', label: p };
  return undefined;
}

/**
 * Periods: the same figure is stated for the same stretch of time. Either missing is
 * compatible (a figure is often stated once with its period); a point in time is
 * compatible with a period that contains it; otherwise the periods must be of the
 * same length and overlap — a quarter is not the full year.
 */
export function periodsCompatible(a?: string, b?: string): boolean {
  if (!a || !b || a === b) return true;
  const ya = YEARLY.test(a);
  const yb = YEARLY.test(b);
  if (ya && yb) {
    const na = /\d{4}/.exec(a)?.[0];
    const nb = /\d{4}/.exec(b)?.[0];
    return !na || !nb || na === nb;
  }
  const va = ya ? undefined : periodValue(a);
  const vb = yb ? undefined : periodValue(b);
  // A point in time falls in a year's figure when the years agree (fiscal years may end in another month: the year is enough).
  if ((ya && vb?.granularity === 'day') || (yb && va?.granularity === 'day')) {
    const year = /\d{4}/.exec(ya ? a : b)?.[0];
    return !year || (ya ? b : a).startsWith(year);
  }
  if (ya || yb) return false;
  if (!va || !vb) return false;
  if (va.granularity !== vb.granularity && va.granularity !== 'day' && vb.granularity !== 'day') return false;
  return datesOverlap(va, vb);
}

/** Do two stated values agree? Ranges and dates agree when they overlap; approximations get 10 %, exact figures 1 %. */
export function valuesAgree(a: Value, b: Value, opts: { targets?: boolean } = {}): boolean {
  if (a.kind === 'date' || b.kind === 'date') {
    if (a.kind !== b.kind) return false;
    return a.value <= (b.high ?? b.value) && b.value <= (a.high ?? a.value);
  }
  const [alo, ahi] = [a.value, a.high ?? a.value];
  const [blo, bhi] = [b.value, b.high ?? b.value];
  // "15+" and "at least 15" agree with anything from 15 up; "up to 20" with anything below —
  // as facts. Two targets set bars: "onboard 15+" and "hire about 20" are different bars.
  const bounds = !opts.targets;
  const aTop = bounds && (a.plus || a.atLeast) ? Infinity : ahi;
  const bTop = bounds && (b.plus || b.atLeast) ? Infinity : bhi;
  const aBottom = bounds && a.atMost ? -Infinity : alo;
  const bBottom = bounds && b.atMost ? -Infinity : blo;
  const tol = a.approx || b.approx ? 0.1 : 0.01;
  const slack = tol * Math.max(Math.abs(ahi), Math.abs(bhi), 1e-9);
  return aBottom <= bTop + slack && bBottom <= aTop + slack;
}

// ---------- subject similarity ----------

const STOP = new Set(['the', 'a', 'an', 'of', 'for', 'in', 'on', 'at', 'to', 'by', 'and', 'or', 'with', 'from', 'its', 'their', 'our', 'this', 'that', 'is', 'are', 'was', 'were']);
/** A crude stem: enough to make "enrolled"/"enrollment", "patients"/"patient" meet. */
const stem = (w: string) =>
  w.toLowerCase().replace(/['’]s$/, '').replace(/(ments?|ings?|ed|es|s|ly|ions?)$/, '').replace(/e$/, '').slice(0, 6);
const words = (s: string) => s.split(/[^A-Za-z0-9]+/).filter((w) => w && !STOP.has(w.toLowerCase())).map(stem);

/** Word overlap of two subject phrases (Dice coefficient over stems), for when vectors are missing. */
export function lexicalSimilarity(a: string, b: string): number {
  const wa = new Set(words(a));
  const wb = new Set(words(b));
  if (!wa.size || !wb.size) return 0;
  let common = 0;
  for (const w of wa) if (wb.has(w)) common++;
  return (2 * common) / (wa.size + wb.size);
}

export function cosine(a: readonly number[], b: readonly number[]): number {
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length && i < b.length; i++) {
    dot += a[i]! * b[i]!;
    na += a[i]! * a[i]!;
    nb += b[i]! * b[i]!;
  }
  return na && nb ? dot / Math.sqrt(na * nb) : 0;
}

/**
 * Abbreviations common across business documents, spelled out before subjects are
 * compared (MiniLM does not know that "capex" is capital expenditure: 0.47). A hint:
 * terms a scope's documents define themselves take precedence.
 */
export const COMMON_ABBREVIATIONS: Readonly<Record<string, string>> = {
  capex: 'capital expenditure', opex: 'operating expenditure', arr: 'annual recurring revenue', mrr: 'monthly recurring revenue',
  nrr: 'net revenue retention', grr: 'gross revenue retention', yoy: 'year over year', fte: 'full-time employees', ftes: 'full-time employees',
  cogs: 'cost of goods sold', sg: 'selling and general', 'r&d': 'research and development', ebit: 'operating profit', p50: 'median estimate',
};

/** The text embedded for a figure's subject: abbreviations spelled out ("ARR" → "annual recurring revenue"), the scope's own first. */
export function subjectText(s: Pick<Statement, 'subject'>, acronyms: Readonly<Record<string, string>> = {}): string {
  return s.subject.replace(/\b[A-Za-z][A-Za-z&0-9]{1,6}\b/g, (w) => acronyms[w] ?? acronyms[w.toUpperCase()] ?? COMMON_ABBREVIATIONS[w.toLowerCase()] ?? w).toLowerCase();
}

export interface Similarity {
  score: number;
  by: 'embedding' | 'lexical';
}

export function similarity(a: { text: string; vector?: readonly number[] | null }, b: { text: string; vector?: readonly number[] | null }): Similarity {
  const lex = lexicalSimilarity(a.text, b.text);
  if (a.vector && b.vector) return { score: Math.max(cosine(a.vector, b.vector), lex >= 0.99 ? 1 : 0), by: 'embedding' };
  return { score: lex, by: 'lexical' };
}

/** Are two statements about the same figure, given how similar their subjects are? */
export function sameFigure(a: Statement, b: Statement, sim: Similarity): boolean {
  if (!unitsCompatible(a, b) || !periodsCompatible(a.period, b.period) || !identifiersCompatible(a, b)) return false;
  const kind = kindOf(a);
  const min = (sim.by === 'embedding' ? SAME_FIGURE_MIN : SAME_FIGURE_MIN_LEXICAL)[kind] ?? 0.6;
  return sim.score >= min;
}

// ---------- resolutions ----------

export interface ContestedFigure {
  metric: string;
  subject: string;
  period?: string;
  sides: [Value, Value];
}

export interface Settlement {
  /** Index of the side the revision accepts. */
  accepted: 0 | 1;
  how: 'restated' | 'accepted' | 'withdrawn';
}

/**
 * Does a revision settle a contested figure, and which side does it accept? A change
 * "from A to B" settles it when A and B are the two sides (B accepted); accepting one
 * value, or withdrawing one, settles it when the subject matches clearly.
 */
export function settles(rev: Revision, c: ContestedFigure, sim: Similarity): Settlement | null {
  const compatible = rev.metric === c.metric || (rev.metric.startsWith('count') && c.metric.startsWith('count'));
  if (!compatible || !periodsCompatible(rev.period, c.period)) return null;
  const [a, b] = c.sides;
  if (rev.from && rev.to && sim.score >= RESOLUTION_MIN) {
    if (valuesAgree(a, rev.from) && valuesAgree(b, rev.to) && !valuesAgree(a, rev.to)) return { accepted: 1, how: 'restated' };
    if (valuesAgree(b, rev.from) && valuesAgree(a, rev.to) && !valuesAgree(b, rev.to)) return { accepted: 0, how: 'restated' };
  }
  if (sim.score >= ACCEPTANCE_MIN) {
    for (const v of rev.accepted ?? []) {
      if (valuesAgree(a, v) && !valuesAgree(b, v)) return { accepted: 0, how: 'accepted' };
      if (valuesAgree(b, v) && !valuesAgree(a, v)) return { accepted: 1, how: 'accepted' };
    }
    for (const v of rev.withdrawn ?? []) {
      if (valuesAgree(a, v) && !valuesAgree(b, v)) return { accepted: 1, how: 'withdrawn' };
      if (valuesAgree(b, v) && !valuesAgree(a, v)) return { accepted: 0, how: 'withdrawn' };
    }
  }
  return null;
}

/** A value as the reports print it: dates by label, money and counts as plain numbers, ranges with a dash. */
export function formatValue(v: Value): string {
  if (v.kind === 'date') return v.label ?? String(v.value);
  const f = v.factor ?? 1;
  const n = (x: number) => {
    const y = x / f;
    return Number.isInteger(y) ? String(y) : String(Number(y.toFixed(4)));
  };
  return `${v.atMost ? '≤' : ''}${n(v.value)}${v.high !== undefined ? `–${n(v.high)}` : ''}${v.plus ? '+' : ''}`;
}
