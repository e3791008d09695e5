// Dates and periods in running text: "Q2 2026", "September 2027", "June 30, 2026",
// "2026-06-30", "by the end of 2026", "FY2026", "H1 2025", "mid-November". Each
// becomes an interval of days (inclusive) with a label in the form the rest of the
// system compares and reports: YYYY-MM-DD, YYYY-MM, YYYY-Qn, YYYY-Hn, YYYY, FY2026.
// Two dates agree when their intervals overlap ("Q4 2026" and "October 2026").
// Pure; no NLP.

export type Granularity = 'day' | 'month' | 'quarter' | 'half' | 'year';

export interface DateValue {
  /** First and last day, as days since 1970-01-01 (UTC). */
  start: number;
  end: number;
  granularity: Granularity;
  label: string;
}

export interface DateMention extends DateValue {
  /** Offsets in the text searched. */
  at: number;
  to: number;
  text: string;
  /** Fiscal-year notation ("FY2026"): a reporting period more than a date. */
  fiscal?: boolean;
  /** The year was not written and was taken from the reference year. */
  inferredYear?: boolean;
}

const DAY = 86_400_000;
export const dayOf = (y: number, m: number, d: number): number => Math.floor(Date.UTC(y, m - 1, d) / DAY);
const lastDay = (y: number, m: number): number => dayOf(y, m + 1, 1) - 1;
export const isoDay = (day: number): string => new Date(day * DAY).toISOString().slice(0, 10);

const MONTHS: Record<string, number> = {
  jan: 1, january: 1, feb: 2, february: 2, mar: 3, march: 3, apr: 4, april: 4, may: 5, jun: 6, june: 6,
  jul: 7, july: 7, aug: 8, august: 8, sep: 9, sept: 9, september: 9, oct: 10, october: 10, nov: 11, november: 11,
  dec: 12, december: 12,
};
const ORDINAL_Q: Record<string, number> = { first: 1, second: 2, third: 3, fourth: 4, '1st': 1, '2nd': 2, '3rd': 3, '4th': 4 };

const pad = (n: number) => String(n).padStart(2, '0');

export function monthValue(y: number, m: number): DateValue {
  return { start: dayOf(y, m, 1), end: lastDay(y, m), granularity: 'month', label: `${y}-${pad(m)}` };
}
export function dayValue(y: number, m: number, d: number): DateValue {
  const day = dayOf(y, m, d);
  return { start: day, end: day, granularity: 'day', label: `${y}-${pad(m)}-${pad(d)}` };
}
export function quarterValue(y: number, q: number): DateValue {
  return { start: dayOf(y, 3 * q - 2, 1), end: lastDay(y, 3 * q), granularity: 'quarter', label: `${y}-Q${q}` };
}
export function halfValue(y: number, h: number): DateValue {
  return { start: dayOf(y, 6 * h - 5, 1), end: lastDay(y, 6 * h), granularity: 'half', label: `${y}-H${h}` };
}
export function yearValue(y: number): DateValue {
  return { start: dayOf(y, 1, 1), end: dayOf(y, 12, 31), granularity: 'year', label: String(y) };
}

/** "early/mid/late/end" narrow a month or a year to a part of it (labelled as the unit it narrows). */
function narrowed(v: DateValue, part: string | undefined): DateValue {
  if (!part) return v;
  const len = v.end - v.start + 1;
  const p = part.toLowerCase();
  if (v.granularity === 'year') {
    const y = Number(v.label.slice(0, 4));
    // "end of 2026" is a year-end deadline: December; "mid-2026" the middle months.
    if (p === 'end' || p === 'year-end') return monthValue(y, 12);
    if (p === 'mid') return { start: dayOf(y, 5, 1), end: lastDay(y, 8), granularity: 'month', label: `mid-${y}` };
    if (p === 'early' || p === 'start' || p === 'beginning') return { start: dayOf(y, 1, 1), end: lastDay(y, 4), granularity: 'month', label: `early-${y}` };
    if (p === 'late') return { start: dayOf(y, 9, 1), end: dayOf(y, 12, 31), granularity: 'month', label: `late-${y}` };
  }
  const third = Math.floor(len / 3);
  if (p === 'early' || p === 'start' || p === 'beginning') return { ...v, end: v.start + third };
  if (p === 'mid') return { ...v, start: v.start + third, end: v.end - third };
  if (p === 'late' || p === 'end') return { ...v, start: v.end - third };
  return v;
}

const year4 = (s: string): number => (s.length === 2 ? 2000 + Number(s) : Number(s));
const MON = '(jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|sept?(?:ember)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\\.?';
const PART = '(?:(early|mid|late|end|start|beginning)(?:[- ]|\\s+of\\s+(?:the\\s+)?)(?:(?:the\\s+)?year\\s+)?)?';

interface Rule {
  re: RegExp;
  make: (m: RegExpExecArray, refYear: number | undefined) => (DateValue & { fiscal?: boolean; inferredYear?: boolean }) | undefined;
}

const monthNum = (s: string): number | undefined => MONTHS[s.toLowerCase().replace(/\.$/, '')];

// Order matters: the most specific form first; a matched span is not read again.
const RULES: Rule[] = [
  { re: /\b(\d{4})-(\d{2})-(\d{2})\b/g, make: (m) => validDay(+m[1]!, +m[2]!, +m[3]!) },
  { re: /\b(\d{4})-Q([1-4])\b/gi, make: (m) => quarterValue(+m[1]!, +m[2]!) },
  { re: /\b(\d{4})-(0[1-9]|1[0-2])\b(?!-\d)/g, make: (m) => monthValue(+m[1]!, +m[2]!) },
  { re: new RegExp(`\\b${MON}\\s+(\\d{1,2})(?:st|nd|rd|th)?,?\\s+(\\d{4})\\b`, 'gi'), make: (m) => validDay(+m[3]!, monthNum(m[1]!)!, +m[2]!) },
  { re: new RegExp(`\\b(\\d{1,2})(?:st|nd|rd|th)?\\s+${MON},?\\s+(\\d{4})\\b`, 'gi'), make: (m) => validDay(+m[3]!, monthNum(m[2]!)!, +m[1]!) },
  { re: /\b(\d{1,2})\/(\d{1,2})\/(\d{4})\b/g, make: (m) => (+m[1]! > 12 ? validDay(+m[3]!, +m[2]!, +m[1]!) : +m[2]! > 12 ? validDay(+m[3]!, +m[1]!, +m[2]!) : undefined) },
  { re: new RegExp(`\\b${PART}${MON},?\\s+(\\d{4})\\b`, 'gi'), make: (m) => narrowed(monthValue(+m[3]!, monthNum(m[2]!)!), m[1]) },
  {
    re: /\b(?:Q([1-4])|([1-4])Q)(?:\s*(?:FY\s?)?(\d{4})|\s*(?:FY\s?|')(\d{2}))?\b/g,
    make: (m, ref) => {
      const q = +(m[1] ?? m[2])!;
      const written = m[3] ?? m[4];
      const y = written ? year4(written) : ref;
      return y ? { ...quarterValue(y, q), ...(written ? {} : { inferredYear: true }) } : { ...quarterValue(0, q), label: `Q${q}`, start: NaN, end: NaN };
    },
  },
  {
    re: /\b(first|second|third|fourth|1st|2nd|3rd|4th)\s+quarter(?:\s+of)?(?:\s+(?:FY\s?)?(\d{4}))?\b/gi,
    make: (m, ref) => {
      const q = ORDINAL_Q[m[1]!.toLowerCase()]!;
      const y = m[2] ? +m[2] : ref;
      return y ? { ...quarterValue(y, q), ...(m[2] ? {} : { inferredYear: true }) } : { ...quarterValue(0, q), label: `Q${q}`, start: NaN, end: NaN };
    },
  },
  { re: /\bH([12])\s*(?:FY\s?)?(\d{4})\b/g, make: (m) => halfValue(+m[2]!, +m[1]!) },
  { re: /\b(first|second)\s+half(?:\s+of)?\s+(\d{4})\b/gi, make: (m) => halfValue(+m[2]!, m[1]!.toLowerCase() === 'first' ? 1 : 2) },
  { re: /\bFY\s?'?(\d{4}|\d{2})\b/g, make: (m) => ({ ...yearValue(year4(m[1]!)), label: `FY${year4(m[1]!)}`, fiscal: true }) },
  { re: /\b(?:year[- ]end|end[- ]of[- ]year)\s+(\d{4})\b/gi, make: (m) => narrowed(yearValue(+m[1]!), 'end') },
  { re: /\b(early|mid|late|end|start|beginning)(?:-|\s+of\s+(?:the\s+)?(?:year\s+)?)(\d{4})\b/gi, make: (m) => narrowed(yearValue(+m[2]!), m[1]) },
  {
    re: new RegExp(`\\b${PART}${MON}\\s+(\\d{1,2})(?:st|nd|rd|th)?\\b(?!\\s*,?\\s*\\d{4})(?![\\d:])`, 'gi'),
    make: (m, ref) => (ref && /^[A-Z]/.test(m[2]!) ? { ...validDay(ref, monthNum(m[2]!)!, +m[3]!)!, inferredYear: true } : undefined),
  },
  {
    // "our briefing of 3 February": a day before a month name, the year left out (the document's); without
    // this the day reads as a count of something and the month as its period.
    re: /\b(\d{1,2})(?:st|nd|rd|th)?\s+(January|February|March|April|May|June|July|August|September|October|November|December)\b(?!\s*,?\s*\d)/g,
    make: (m, ref) => {
      const v = ref ? validDay(ref, monthNum(m[2]!)!, +m[1]!) : undefined;
      return v && { ...v, inferredYear: true };
    },
  },
  {
    // A month name alone ("planned for October", "mid-November"): capitalised, so "may" the verb is not one.
    re: new RegExp(`\\b${PART}(January|February|March|April|May|June|July|August|September|October|November|December)\\b(?!\\s*\\d)`, 'g'),
    make: (m, ref) => (ref ? { ...narrowed(monthValue(ref, monthNum(m[2]!)!), m[1]), inferredYear: true } : undefined),
  },
  {
    // A year on its own: only after a preposition or as a period of a statement ("in 2025", "by 2030", "to 2041").
    re: /\b(in|by|during|for|since|until|till|through|before|after|from|to|of|calendar|year|throughout|beyond|across|over|within)\s+((?:19|20)\d{2})\b(?![-\/]\d)/gi,
    make: (m) => yearValue(+m[2]!),
  },
];

function validDay(y: number, m: number, d: number): DateValue | undefined {
  if (!m || m < 1 || m > 12 || d < 1 || d > 31 || y < 1900 || y > 2200) return undefined;
  if (d > new Date(Date.UTC(y, m, 0)).getUTCDate()) return undefined;
  return dayValue(y, m, d);
}

/**
 * Every date in a text, left to right, without overlaps. `refYear` completes dates
 * written without a year ("October", "Q4") — the document's own year — and is
 * marked as inferred; without it they are skipped (a bare "Q4" is kept with its label
 * only, as a period).
 */
export function findDates(text: string, refYear?: number): DateMention[] {
  const taken: [number, number][] = [];
  const out: DateMention[] = [];
  const free = (a: number, b: number) => taken.every(([x, y]) => b <= x || a >= y);
  for (const rule of RULES) {
    rule.re.lastIndex = 0;
    for (let m = rule.re.exec(text); m; m = rule.re.exec(text)) {
      let at = m.index;
      let full = m[0];
      // The year rule's preposition is context, not part of the date.
      if (rule === RULES.at(-1)) {
        const skip = full.length - m[2]!.length;
        at += skip;
        full = m[2]!;
      }
      const to = at + full.length;
      if (!free(at, to)) continue;
      const v = rule.make(m, refYear);
      if (!v) continue;
      taken.push([at, to]);
      out.push({ ...v, at, to, text: full });
    }
  }
  return out.sort((a, b) => a.at - b.at);
}

/** Do two dates (or periods) overlap? A label without days (a bare "Q4") compares by its quarter. */
export function datesOverlap(a: DateValue, b: DateValue): boolean {
  if (Number.isNaN(a.start) || Number.isNaN(b.start)) {
    const qa = /Q([1-4])$/.exec(a.label)?.[1];
    const qb = /Q([1-4])$/.exec(b.label)?.[1];
    if (qa && qb) return qa === qb;
    const q = qa ?? qb;
    const other = qa ? b : a;
    if (q && !Number.isNaN(other.start)) {
      const m = new Date(other.start * DAY).getUTCMonth() + 1;
      const m2 = new Date(other.end * DAY).getUTCMonth() + 1;
      return Math.ceil(m / 3) <= +q && +q <= Math.ceil(m2 / 3);
    }
    return true;
  }
  return a.start <= b.end && b.start <= a.end;
}

/** The year of a document, from its dates (the first one written in full). */
export function referenceYear(text: string): number | undefined {
  const m = findDates(text.slice(0, 2000)).find((d) => !Number.isNaN(d.start) && d.granularity !== 'year');
  if (m) return Number(m.label.slice(0, 4));
  const y = /\b(20\d{2})\b/.exec(text.slice(0, 2000));
  return y ? Number(y[1]) : undefined;
}
