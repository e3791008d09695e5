// Find the quantities a sentence states ("$8.5M–$9.0M", "approximately 20
// engineers", "15+ hires", "12% from 9%") with their unit, and the sentence's
// period ("Q4", "FY"). Dates, years, enumerators and product names ("SOC 2") are
// not quantities.
import { APPROX_WORDS, CURRENCY, MAGNITUDE, MONTHS, UNIT_ALIASES } from './lexicon.ts';
import type { Token } from './nlp.ts';

export interface Quantity {
  kind: 'money' | 'percent' | 'count';
  value: number;
  /** Upper end of a range ("$8.5M–$9.0M"). */
  high?: number;
  currency?: string;
  /** Canonical unit for counts ("engineers", "weeks"). */
  unit?: string;
  approx?: boolean;
  atLeast?: boolean;
  plus?: boolean;
  /** Role inside a revision "from X to Y", or "previous" for "12% from 9%". */
  role?: 'from' | 'to' | 'previous';
  /** Token index of the number, for finding its subject. */
  at: number;
  text: string;
}

const NUM = /^\d{1,3}(?:,\d{3})+(?:\.\d+)?$|^\d+(?:\.\d+)?$/;
const WORD_NUMBERS: Record<string, number> = {
  one: 1, two: 2, three: 3, four: 4, five: 5, six: 6, seven: 7, eight: 8, nine: 9, ten: 10, eleven: 11, twelve: 12,
  fifteen: 15, twenty: 20, thirty: 30, fifty: 50, hundred: 100,
};
const isNum = (t: Token | undefined) => !!t && (NUM.test(t.text) || (t.pos === 'NUM' && t.lower in WORD_NUMBERS));
const num = (t: Token) => WORD_NUMBERS[t.lower] ?? Number(t.text.replace(/,/g, ''));
const isAcronym = (t: Token | undefined) => !!t && /^[A-Z]{2,6}$/.test(t.text);
const isNounish = (t: Token | undefined) => !!t && (t.pos === 'NOUN' || (t.pos === 'PROPN' && !/^[A-Z]/.test(t.text)));

function unitAfter(tokens: Token[], j: number): { unit?: string; end: number } {
  // "20-engineer target": the unit is the word right after the hyphen.
  if (tokens[j]?.text === '-' && tokens[j + 1] && /^[a-z]/i.test(tokens[j + 1]!.text)) {
    const l = tokens[j + 1]!.lemma;
    return { unit: UNIT_ALIASES[l] ?? l, end: j + 1 };
  }
  // "15+ hires", "50 production deployments": the last noun of the run that follows.
  let k = j;
  while (tokens[k] && (tokens[k]!.text === '"' || tokens[k]!.text === '+')) k++;
  let last: Token | undefined;
  let end = j - 1;
  while (tokens[k]) {
    const t = tokens[k]!;
    if (isNounish(t) || t.pos === 'ADJ' || (UNIT_ALIASES[t.lemma] && t.pos === 'VERB')) {
      if (isNounish(t) || UNIT_ALIASES[t.lemma]) last = t;
      end = k;
      k++;
      continue;
    }
    break;
  }
  if (!last) return { end };
  return { unit: UNIT_ALIASES[last.lemma] ?? last.lemma, end };
}

export function quantities(tokens: Token[]): Quantity[] {
  const out: Quantity[] = [];
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i]!;
    if (!isNum(t)) continue;
    const prev = tokens[i - 1];
    const next = tokens[i + 1];
    // Not quantities: dates ("Dec 31", "2024-10-22"), years, "SOC 2", "(1)".
    if (t.entity === 'DATE' || (prev && MONTHS.has(prev.lower))) continue;
    if (isAcronym(prev) && !CURRENCY[prev!.text]) continue;
    if (prev?.text === '(' && next?.text === ')') continue;
    const currency = prev ? CURRENCY[prev.text] : undefined;
    if (!currency && /^(19|20)\d{2}$/.test(t.text) && !(next && next.pos === 'NOUN' && next.lower !== 'year')) continue;

    let j = i + 1;
    let value = num(t);
    const mag = tokens[j] ? MAGNITUDE[tokens[j]!.lower] : undefined;
    if (mag) {
      value *= mag;
      j++;
    }
    let kind: Quantity['kind'] = currency ? 'money' : 'count';
    if (tokens[j]?.text === '%' || tokens[j]?.lower === 'percent') {
      kind = 'percent';
      j++;
    }
    let plus = false;
    if (tokens[j]?.text === '+') {
      plus = true;
      j++;
    }
    const q: Quantity = { kind, value, at: i, text: t.text };
    if (currency) q.currency = currency;
    if (plus) q.plus = true;

    // Range: "2–3 weeks", "$8.5M–$9.0M" ("from 20 to 15" is a revision, not a range).
    const fromBefore = prev?.lower === 'from';
    const sep = tokens[j];
    if (sep && (sep.text === '–' || sep.text === '-' || (sep.lower === 'to' && !fromBefore))) {
      let k = j + 1;
      if (tokens[k] && CURRENCY[tokens[k]!.text]) k++;
      if (isNum(tokens[k])) {
        let high = num(tokens[k]!);
        const m2 = tokens[k + 1] ? MAGNITUDE[tokens[k + 1]!.lower] : undefined;
        if (m2) {
          high *= m2;
          k++;
        } else if (mag) high *= mag;
        if (tokens[k + 1]?.text === '%') k++;
        q.high = high;
        j = k + 1;
        i = k; // the upper bound is not a quantity of its own
      }
    }
    if (kind === 'count') {
      const u = unitAfter(tokens, j);
      if (u.unit) q.unit = u.unit;
    }
    const back = [tokens[i - 1], tokens[i - 2], tokens[q.at - 1], tokens[q.at - 2]].map((x) => x?.lower);
    if (back.some((w) => w && APPROX_WORDS.has(w))) q.approx = true;
    if ((back[2] === 'least' && back[3] === 'at') || back[2] === 'minimum') q.atLeast = true;
    if (fromBefore) q.role = 'from';
    else if (tokens[q.at - 1]?.lower === 'to' && out.at(-1)?.role === 'from') q.role = 'to';
    q.text = tokens
      .slice(q.at - (currency ? 1 : 0), Math.max(q.at + 1, j))
      .map((x) => x.text)
      .join(' ')
      .replace(/ ([%+.,)])/g, '$1')
      .replace(/([$€£(]) /g, '$1')
      .replace(/ ?([–-]) ?/g, '$1');
    out.push(q);
  }
  // "improved to 12% from 9%": the figure after "from" is the previous value.
  for (const q of out) {
    if (q.role === 'from' && !out.some((o) => o.role === 'to' && o.at > q.at)) q.role = 'previous';
  }
  // "from 20 to 15 engineers": both ends share the unit stated once.
  const to = out.find((o) => o.role === 'to');
  const from = out.find((o) => o.role === 'from');
  if (to && from && !from.unit && to.unit) from.unit = to.unit;
  return out;
}

/** The reporting period a sentence talks about, normalised: "Q4", "Q3 2024", "FY", "FY2025", "H1 2025". */
export function period(tokens: Token[]): string | undefined {
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i]!;
    const year = tokens[i + 1] && /^(19|20)\d{2}$/.test(tokens[i + 1]!.text) ? ` ${tokens[i + 1]!.text}` : '';
    if (/^q[1-4]$/i.test(t.text)) return t.text.toUpperCase() + year;
    if (/^h[12]$/i.test(t.text)) return t.text.toUpperCase() + year;
  }
  const text = tokens.map((t) => t.lower).join(' ');
  if (/\b(full - year|full year|fy\d*|annual)\b/.test(text)) return 'FY';
  // Year-end deadlines fall in the fourth quarter: "by Dec 31", "by year-end".
  if (/\b(dec(ember)? 31|year - end|year end|end of (the )?year)\b/.test(text)) return 'Q4';
  const endOf = /\bend of ((19|20)\d{2})\b/.exec(text);
  if (endOf) return `FY${endOf[1]}`;
  return undefined;
}
