// Numbers as written in business documents, read from the text itself (with their
// character offsets): "62,000,000", "$48.0M", "EUR 0.9 million", "1.2bn", "62 million
// euros", "~66%", "15+", "2–3 weeks", "3,400 tonnes", "410 kt CO2e", "twenty-five",
// "a dozen", ranges, approximations and bounds. Nouns that follow a bare number
// ("420 patients") are the figure reader's business (they need the parse); this module
// knows currencies, magnitudes, percentages and units of measurement. Pure.
import { CURRENCY_CODES, CURRENCY_SYMBOLS, CURRENCY_WORDS, unitAt, type UnitDef } from './units.ts';

export type NumberKind = 'money' | 'percent' | 'points' | 'count' | 'measure' | 'ratio';

export interface NumberMention {
  /** Span of the whole expression ("about $48.0 million") in the text searched. */
  at: number;
  to: number;
  /** Span of the first digit group or number word. */
  numAt: number;
  numTo: number;
  text: string;
  kind: NumberKind;
  value: number;
  high?: number;
  currency?: string;
  /** Units of measurement: the dimension and base-unit value ("2.6 million m3" → volume). */
  unit?: UnitDef & { qualifier?: string };
  approx?: boolean;
  atLeast?: boolean;
  atMost?: boolean;
  plus?: boolean;
  /** Written in words ("twelve", "a dozen"). */
  words?: boolean;
}

const WORD_VALUES: Record<string, number> = {
  zero: 0, nil: 0, one: 1, two: 2, three: 3, four: 4, five: 5, six: 6, seven: 7, eight: 8, nine: 9, ten: 10,
  eleven: 11, twelve: 12, thirteen: 13, fourteen: 14, fifteen: 15, sixteen: 16, seventeen: 17, eighteen: 18, nineteen: 19,
  twenty: 20, thirty: 30, forty: 40, fifty: 50, sixty: 60, seventy: 70, eighty: 80, ninety: 90,
};
const SCALE_WORDS: Record<string, number> = { hundred: 100, thousand: 1e3, million: 1e6, billion: 1e9 };
const WORD_ALT = [...Object.keys(WORD_VALUES), 'hundred', 'thousand', 'million', 'billion'].join('|');
const WORD_NUMBER = new RegExp(`\\b(?:(half\\s+a\\s+dozen|a\\s+dozen|dozen|a\\s+(?:hundred|thousand|million|billion))|(?:(?:${WORD_ALT})(?:(?:-|\\s+and\\s+|\\s+)(?:${WORD_ALT}))*))\\b`, 'gi');
const DIGITS = /(?<![\w.,/:]|[A-Za-z][-/])(\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?)(?![\d]|[.,]\d|st\b|nd\b|rd\b|th\b|:\d|\/\d)/g;

/** "one hundred and twenty" → 120, "twenty-five" → 25, "a dozen" → 12. */
export function wordsValue(s: string): number | undefined {
  const l = s.toLowerCase().replace(/\s+/g, ' ').trim();
  if (l === 'a dozen' || l === 'dozen') return 12;
  if (l === 'half a dozen') return 6;
  const a = /^a (hundred|thousand|million|billion)$/.exec(l);
  if (a) return SCALE_WORDS[a[1]!];
  let total = 0;
  let current = 0;
  let any = false;
  let prev = '';
  for (const w of l.split(/[- ]+/).filter(Boolean)) {
    // "and" only joins a scale to what follows it: "one hundred and twenty".
    if (w === 'and') {
      if (prev !== 'hundred' && !(prev in SCALE_WORDS)) return undefined;
      prev = w;
      continue;
    }
    if (prev && prev !== 'and' && w in WORD_VALUES && prev in WORD_VALUES && WORD_VALUES[prev]! < 20 && WORD_VALUES[w]! >= 0 && !(WORD_VALUES[prev]! >= 20 && WORD_VALUES[prev]! % 10 === 0)) return undefined;
    prev = w;
    if (w in WORD_VALUES) {
      current += WORD_VALUES[w]!;
      any = true;
    } else if (w === 'hundred') {
      current = (current || 1) * 100;
      any = true;
    } else if (w in SCALE_WORDS) {
      total += (current || 1) * SCALE_WORDS[w]!;
      current = 0;
      any = true;
    } else return undefined;
  }
  return any ? total + current : undefined;
}

const MAGNITUDE: Record<string, number> = {
  k: 1e3, K: 1e3, thousand: 1e3, m: 1e6, M: 1e6, mn: 1e6, mln: 1e6, mm: 1e6, MM: 1e6, million: 1e6, millions: 1e6,
  b: 1e9, B: 1e9, bn: 1e9, billion: 1e9, billions: 1e9, tn: 1e12, trillion: 1e12,
};
const MAG_AT = /^\s?(trillion|billions?|millions?|thousand|bn|mn|mln|MM|mm|tn|[kKmMbB])(?![a-zA-Z0-9²³])/;
const PERCENT_AT = /^\s?(%|per\s?cent\b|percent\b|pct\b\.?)/i;
const POINTS_AT = /^\s?(percentage\s+points?|pp\b|ppts?\b|bps\b|basis\s+points?)/i;
const RATIO_AT = /^\s?(x|×)(?![\w])|^\s(times)\b/;
const CUR_CODE_AT = new RegExp(`^\\s?(${CURRENCY_CODES.join('|')})\\b`);
const CUR_WORD_AT = new RegExp(`^\\s?(${Object.keys(CURRENCY_WORDS).sort((a, b) => b.length - a.length).join('|').replace(/ /g, '\\s+')})\\b`, 'i');
const CUR_BEFORE = new RegExp(`(${[...Object.keys(CURRENCY_SYMBOLS).map((s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')), ...CURRENCY_CODES].join('|')})\\s?$`);
const APPROX_BEFORE = /(?:\b(?:about|approximately|approx\.?|around|roughly|some|circa|c\.|nearly|near|almost|close\s+to|an\s+estimated|estimated|est\.|just\s+(?:over|under))|~|±|≈)\s*$/i;
const AT_LEAST_BEFORE = /\b(at\s+least|no\s+(?:fewer|less)\s+than|minimum\s+of|a\s+minimum\s+of|more\s+than|over|above|in\s+excess\s+of|upwards\s+of|exceeding)\s*$/i;
const AT_MOST_BEFORE = /\b(at\s+most|up\s+to|no\s+more\s+than|maximum\s+of|a\s+maximum\s+of|less\s+than|fewer\s+than|under|below|capped\s+at|not\s+exceeding)\s*$/i;
const RANGE_SEP = /^\s?(?:–|—|-|to|and)\s?/;

interface Core {
  at: number;
  to: number;
  value: number;
  words: boolean;
}

function cores(text: string): Core[] {
  const out: Core[] = [];
  DIGITS.lastIndex = 0;
  for (let m = DIGITS.exec(text); m; m = DIGITS.exec(text)) {
    out.push({ at: m.index, to: m.index + m[0].length, value: Number(m[1]!.replace(/,/g, '')), words: false });
  }
  WORD_NUMBER.lastIndex = 0;
  for (let m = WORD_NUMBER.exec(text); m; m = WORD_NUMBER.exec(text)) {
    let text_ = m[0];
    let v = wordsValue(text_);
    // "two and three" is two numbers: keep the first word only.
    if (v === undefined) {
      text_ = /^[a-z]+/i.exec(text_)![0];
      v = wordsValue(text_);
    }
    // "million" alone is a magnitude of a digit group, not a number.
    if (v === undefined || /^(hundred|thousand|millions?|billions?)$/i.test(text_)) continue;
    out.push({ at: m.index, to: m.index + text_.length, value: v, words: true });
  }
  return out.sort((a, b) => a.at - b.at);
}

interface Tail {
  value: number;
  to: number;
  mag: number | undefined;
  currency?: string;
  kind?: NumberKind;
  unit?: NumberMention['unit'];
  plus?: boolean;
}

/** What follows a number: magnitude, percent sign, currency, unit, plus sign. */
function tail(text: string, core: Core): Tail {
  let i = core.to;
  let value = core.value;
  const mag = MAG_AT.exec(text.slice(i));
  let magnitude: number | undefined;
  if (mag && !(mag[1] === 'm' && /^\s?m\s?(?:[23²³]|\b(?:of\s+)?water)/.test(text.slice(i)))) {
    magnitude = MAGNITUDE[mag[1]!];
    value *= magnitude!;
    i += mag[0].length;
  }
  const t: Tail = { value, to: i, mag: magnitude };
  const rest = () => text.slice(t.to);
  let m: RegExpExecArray | null;
  if ((m = POINTS_AT.exec(rest()))) {
    t.kind = 'points';
    if (/bps|basis/i.test(m[1]!)) t.value /= 100;
    t.to += m[0].length;
  } else if ((m = PERCENT_AT.exec(rest()))) {
    t.kind = 'percent';
    t.to += m[0].length;
  } else if ((m = CUR_CODE_AT.exec(rest()))) {
    t.currency = m[1]!;
    t.to += m[0].length;
  } else if ((m = CUR_WORD_AT.exec(rest()))) {
    t.currency = CURRENCY_WORDS[m[1]!.toLowerCase().replace(/\s+/g, ' ')]!;
    t.to += m[0].length;
  } else if ((m = RATIO_AT.exec(rest()))) {
    t.kind = 'ratio';
    t.to += m[0].length;
  } else {
    const unit = unitAt(rest());
    if (unit) {
      t.unit = { ...unit.def, ...(unit.qualifier ? { qualifier: unit.qualifier } : {}) };
      t.value *= unit.def.factor;
      t.to += unit.length;
    }
  }
  if (text[t.to] === '+') {
    t.plus = true;
    t.to += 1;
  }
  return t;
}

/**
 * Every number mention in `text` outside the `exclude` spans (dates found first),
 * left to right. A range ("$8.5M–$9.0M", "2–3 weeks", "between 10 and 12") is one
 * mention; "from 20 to 15" is two (a change, not a range).
 */
export function findNumbers(text: string, exclude: readonly (readonly [number, number])[] = []): NumberMention[] {
  const out: NumberMention[] = [];
  const all = cores(text).filter((c) => exclude.every(([a, b]) => c.to <= a || c.at >= b));
  for (let k = 0; k < all.length; k++) {
    const c = all[k]!;
    const before = text.slice(Math.max(0, c.at - 40), c.at);
    const cur = CUR_BEFORE.exec(before);
    const t = tail(text, c);
    let at = c.at;
    let currency = t.currency;
    if (cur) {
      currency = CURRENCY_SYMBOLS[cur[1]!] ?? cur[1]!;
      at -= cur[0].length;
    }
    const mention: NumberMention = {
      at,
      to: t.to,
      numAt: c.at,
      numTo: c.to,
      text: '',
      kind: currency ? 'money' : (t.kind ?? (t.unit ? 'measure' : 'count')),
      value: t.value,
      ...(currency ? { currency } : {}),
      ...(t.unit ? { unit: t.unit } : {}),
      ...(t.plus ? { plus: true } : {}),
      ...(c.words ? { words: true } : {}),
    };
    if (/(^|[\s(:=])[-−]$/.test(text.slice(Math.max(0, at - 2), at))) mention.value = -mention.value;

    // Range: the second number shares the first one's magnitude, currency and unit.
    const fromBefore = /\bfrom\s*$/i.test(text.slice(0, at));
    const betweenBefore = /\bbetween\s*$/i.test(text.slice(0, at));
    const sep = RANGE_SEP.exec(text.slice(t.to));
    const next = all[k + 1];
    if (sep && next && !fromBefore && (sep[0].trim() !== 'and' || betweenBefore) && next.at - t.to <= sep[0].length + 4) {
      const gap = text.slice(t.to + sep[0].length, next.at);
      const gapCurrency = gap.trim() !== '';
      if (/^(?:US\$|\$|€|£|¥|[A-Z]{3}\s?)?$/.test(gap) && !(gapCurrency && mention.kind !== 'money') && !(sep[0].trim() === 'to' && /\bup\s*$/i.test(text.slice(0, at)))) {
        const t2 = tail(text, next);
        const sameKind = (t2.kind ?? (t2.unit ? 'measure' : 'count')) === mention.kind || (!t2.kind && !t2.unit) || mention.kind === 'money' || (mention.kind === 'count' && (t2.kind || t2.unit));
        if (sameKind && t2.value !== undefined) {
          let low = mention.value;
          let high = t2.value;
          if (t2.mag && !t.mag) low *= t2.mag;
          else if (t.mag && !t2.mag) high *= t.mag;
          if (t2.unit && !t.unit) {
            low *= t2.unit.factor;
            mention.unit = t2.unit;
            mention.kind = 'measure';
          } else if (t.unit && !t2.unit) high *= t.unit.factor;
          if (t2.kind === 'percent' || t2.kind === 'points') mention.kind = t2.kind;
          if (t2.currency && !currency) {
            mention.currency = t2.currency;
            mention.kind = 'money';
          }
          if (high > low) {
            mention.value = low;
            mention.high = high;
            mention.to = t2.to;
            k++;
          }
        }
      }
    }
    const lead = text.slice(Math.max(0, at - 40), at);
    if (APPROX_BEFORE.test(lead)) mention.approx = true;
    if (AT_LEAST_BEFORE.test(lead)) mention.atLeast = true;
    if (AT_MOST_BEFORE.test(lead)) mention.atMost = true;
    mention.text = text.slice(mention.at, mention.to);
    out.push(mention);
  }
  return out;
}
