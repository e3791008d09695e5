// Reading one sentence: every figure it states (numbers and dates), with the unit,
// the subject it measures (the noun phrase, found from the parse — no list of
// subjects), its period, its hedge, and how the sentence uses it: asserted, cited
// from another document ("the 118% in the memorandum"), denied ("9%, not 14%"), a
// previous value ("up from 9%"), or the two ends of a change ("restated from $48.0M
// to $41.3M", "March 2028 in place of September 2027"). Pure.
import { findDates, type DateMention } from './dates.ts';
import type { Sentence, Token } from './nlp.ts';
import { DEFAULT_LIMITS, type LimitsReport } from './limits.ts';
import { findNumbers, type NumberMention } from './numbers.ts';
import type { Statement, Value } from './types.ts';

export type MentionRole = 'asserted' | 'cited' | 'negated' | 'previous' | 'from' | 'to' | 'replaced';

export interface Figure extends Statement {
  mentionRole: MentionRole;
  /** Token index range of the mention in the sentence. */
  t0: number;
  t1: number;
}

export interface SentenceReading {
  figures: Figure[];
  /** Dates that are not figures: periods, deadlines, as-of dates (offsets in the document). */
  dates: DateMention[];
  /** A change of a figure this sentence states: from → to, and whether it is a correction (not just progress). */
  change?: { from: Figure; to: Figure; revision: boolean; replacement?: boolean };
  /** Figures the sentence accepts ("we accept the $41.3M", "March 2028 is accepted"). */
  accepted: Figure[];
  /** Figures the sentence withdraws. */
  withdrawn: Figure[];
  /** "do not accept", "maintain", "dispute": the sentence keeps a disagreement open. */
  disputes: boolean;
  negated: boolean;
  /** Future, conditional or planned: "will", "may", "expected", "plan". */
  modal: boolean;
  /** States that something was done: achieved, completed, signed, remains... */
  done: boolean;
  /** Has a verb of its own (beyond goal words): it says what is to be done. */
  hasAction: boolean;
}

// ---------- word classes (grammatical, not domain vocabulary) ----------

const APPROX_TOKENS = new Set(['about', 'approximately', 'approx', 'around', 'roughly', 'some', 'nearly', 'near', 'almost', 'circa', 'c.', '~', 'estimated', 'an', 'a', 'over', 'under', 'least', 'most', 'up', 'more', 'less', 'fewer', 'than', 'just', 'only', 'below', 'above', 'exceeding', 'minimum', 'maximum', 'now', 'still', 'currently']);
const LIGHT_VERBS = new Set(['be', 'have', 'hold', 'list', 'report', 'include', 'count', 'total', 'show', 'record', 'reach', 'see', 'get', 'make', 'give', 'take', 'remain', 'stand', 'amount', 'come', 'do', 'confirm', 'state', 'note', 'say', 'expect', 'estimate', 'forecast', 'plan', 'project', 'keep', 'put', 'set', 'use', 'contain', 'comprise', 'represent', 'lead', 'go', 'become', 'find']);
const CITE_AFTER = /^\s*(?:\)?\s*)(presented|stated|reported|quoted|shown|given|cited|mentioned|published|announced|claimed|disclosed|used|assumed|communicated|indicated|put forward|in\s+(?:the|their|its|our|your)\s+(?:[\w-]+\s+){0,2}(?:memorandum|memo|deck|report|brief|briefing|presentation|plan|filing|update|letter|review|note|release|document|draft|proposal|model|budget|im|cim|prospectus|submission|tender|bid|application|statement|minutes))\b|^\s*(earlier|previously|originally|initially|before)\b/i;
const NEGATION_BEFORE = /\b(not|never|rather\s+than|no\s+longer|instead\s+of|in\s+place\s+of)\s*(?:the\s+|a\s+|an\s+)?$/i;
/** Scheduling words before a date make it the figure of the clause, not its period: "planned for Q3 2027". */
const SCHEDULED_BEFORE = /\b(planned|scheduled|expected|forecast|due|set|slated|targeted|anticipated|projected|moved|pushed(?:\s+back)?|postponed|delayed|deferred|brought\s+forward|rescheduled|now|date\s+of|deadline\s+of|by)\s+(?:(?:for|in|to|on|at|until|around)\s+)?(?:the\s+)?(?:end\s+of\s+)?$/i;
const PREVIOUS_BEFORE = /\b(up\s+from|down\s+from|compared\s+(?:with|to)|versus|vs\.?|against|from|gap\s+(?:to|with)|difference\s+(?:to|from|with))\s*(?:the\s+|a\s+|an\s+)?$/i;
const PREVIOUS_AFTER = /^\s*(?:in|for|during|at)\s+(?:the\s+)?(?:prior|previous|preceding|last|same)\s+(?:year|quarter|period|month|half)|^\s*(?:a|one)\s+year\s+(?:earlier|ago|before)/i;
const REPLACE_AFTER = /^\s*,?\s*(?:is\s+|are\s+|was\s+|were\s+)?(?:accepted\s+|adopted\s+|used\s+|agreed\s+)?(instead\s+of|in\s+place\s+of|replac(?:es|ing|ed)|supersed(?:es|ing))\b/i;
const REVISION_WORDS = /\b(restat\w*|revis\w*|correct\w*|amend\w*|updat\w*|adjust\w*|chang\w*|lower\w*|raise[ds]?|raising|reduc\w*|cut|cuts|increas\w*|decreas\w*|mov(?:ed|es)|push\w*|shift\w*|postpon\w*|defer\w*|rebas\w*|re-?forecast\w*|reset|brought\s+forward|slipp\w*|delay\w*|extend\w*|reschedul\w*|approv\w*|now)\b/i;
const DISPUTE = /\b(do(?:es)?\s+not|don't|doesn't|did\s+not|cannot|can't|won't|will\s+not|refuse[sd]?\s+to)\s+(accept|agree|recogni[sz]e|acknowledge)|\b(reject\w*|disput\w*|contest\w*|maintain(?:s|ed)?\s+that|under\s+(?:discussion|negotiation)|open\s+for\s+(?:negotiation|discussion)|disagree\w*)\b|\b(?:this|it|that|the\s+(?:matter|issue|point|question|item|figure|difference))\s+(?:remains|is\s+still|stays)\s+open\b/i;
const ACCEPT = /\b(accept(?:s|ed)?|adopt(?:s|ed)?|agree(?:s|d)?\s+(?:to|with|on)|concur(?:s|red)?|endors(?:es|ed)|ratif(?:y|ies|ied)|acknowledg(?:es|ed)|recogni[sz](?:es|ed))\b/i;
/** A replacement stated between two values: "91.4% will be used from now on, superseding the 96.2%". */
const REPLACE_BETWEEN = /\b(instead\s+of|in\s+place\s+of|replac(?:es|ing)|supersed(?:es|ing)|in\s+lieu\s+of)\b/i;
const WITHDRAW = /\b(withdr(?:aw|aws|ew|awn)|retract(?:s|ed)?|rescind(?:s|ed)?|abandon(?:s|ed)?|disregard(?:s|ed)?|discard(?:s|ed)?)\b/i;
/** "the earlier figure of 412": a value named as the one stated before (a temporal adjective, a head, "of"). */
const EARLIER_FIGURE_BEFORE = /\b(?:the|this|that|our|its|their)\s+(?:earlier|previous|original|initial|old|former|prior)\s+(?:[\w-]+\s+)?(?:figure|number|value|estimate|count|total|amount)\s+of\s*$/i;
/** A dispute verb governing the figure that follows it: "disagree with the", "dispute the", "do not accept your" ("reject" is not one: "the board rejected the $5M offer" declines an offer that was made). */
const DISPUTED_BEFORE = /\b(?:disagree(?:s|d)?\s+with|disput(?:e|es|ed)|contest(?:s|ed)?|(?:do(?:es)?|did)\s+not\s+accept|cannot\s+accept)\s+(?:the|this|that|these|those|your|their|its|his|her)\s+$/i;
const NEGATION = /\b(not|no|never|none|neither|nor|cannot|without)\b|n't\b/i;
const MODAL = /\b(will|would|shall|should|may|might|could|can|expect(?:s|ed)?|anticipat\w*|plan(?:s|ned)?|aim(?:s|ed)?|intend(?:s|ed)?|target(?:s|ed|ing)?|schedul\w*|forecast\w*|project(?:ed|s)|propos\w*|seek(?:s)?|hope(?:s|d)?|going\s+to|if|unless|subject\s+to|pending|likely|unlikely)\b/i;
const DONE = /\b(achiev\w*|complet\w*|obtain\w*|secur\w*|sign(?:ed)?|closed|deliver\w*|reach\w*|met|pass(?:ed)?|award\w*|grant\w*|receiv\w*|launch\w*|finish\w*|hired|onboarded|opened|commission\w*|certified|issued|done|remains?|continues?|kept|stays?|in\s+place)\b/i;
const HEDGES = /\b(estimated|expected|forecast|projected|planned|anticipated|approximately|about|around|roughly|likely|preliminary|unaudited|provisional|indicative|budgeted|assumed|target(?:ed)?)\b/i;
const PERIOD_WORDS: [RegExp, string][] = [
  [/\b(last|past|trailing)\s+(twelve|12)\s+months\b|\b(LTM|TTM)\b/i, 'LTM'],
  [/\b(full[- ]year|full\s+year|fiscal\s+year|for\s+the\s+year|annual\s+(?:guidance|outlook|target|budget))\b|\bFY\b(?!\s?'?\d)/i, 'FY'],
  [/\b(year[- ]to[- ]date|YTD)\b/i, 'YTD'],
];
const SUBJECT_NOISE = /\b(full[- ]year|fiscal\s+year|year[- ]to[- ]date|ytd|ltm|ttm)\b/gi;
/** Heads that name a reading of something rather than the thing: "estimate of X" is about X. */
const ESTIMATE_HEADS = new Set(['estimate', 'forecast', 'projection', 'figure', 'number', 'value', 'amount', 'measure', 'calculation', 'assessment', 'view']);
/** Words that qualify how a figure is known, not what it measures: dropped from subjects. */
const SUBJECT_HEDGES = /^(?:(?:expected|estimated|forecast|projected|planned|budgeted|anticipated|approximate|current|reported|stated|latest|updated|revised|new|our|its|their)\s+)+/i;
const GENERIC_HEADS = new Set(['figure', 'number', 'value', 'amount', 'total', 'sum', 'level', 'it', 'this', 'that', 'date', 'time', 'period', 'year', 'month', 'day', 'week', 'quarter', 'thing', 'item', 'point', 'part', 'rest', 'one', 'lot', 'bit', 'result', 'term', 'basis', 'measure', 'way', 'gap', 'difference']);
/** Words that turn a count into a count of the noun before them ("customer count of 1,240"). */
const COUNT_HEADS = new Set(['count', 'number', 'headcount', 'total', 'tally']);
const DATE_PERIOD_BEFORE = /\b(as\s+(?:of|at)|at|on|ended|ending|through|since|during|over|throughout|per|(?<!(?:scheduled|planned|forecast|set|slated|due|targeted|expected|pencilled|penciled|booked|moved|pushed|postponed|rescheduled|deferred|delayed|now)\s+)for\s+(?:the\s+)?)\s*$/i;
const DATE_BOUND_BEFORE = /\b(before|after|prior\s+to|no\s+later\s+than|not\s+before|until|till|between)\s*$/i;
/**
 * "the lease runs until December 2029", "the warranty lasts through 2028": a term that runs
 * until a date ends on it, so the date is a figure of the term (its end), not a bound.
 */
const TERM_ENDS_BEFORE = /\b(?:runs?|ran|lasts?|lasted|continues?|continued|remains?\s+in\s+(?:force|place|effect)|remained\s+in\s+(?:force|place|effect))\s+(?:until|till|through)\s*$/i;
const WINDOW_BEFORE = /\b(last|past|next|previous|preceding|trailing|first|coming|final|recent|following|within\s+the(?:\s+last)?)\s*$/i;

const isNoun = (t: Token | undefined) => !!t && (t.pos === 'NOUN' || t.pos === 'PROPN');
const isBoundary = (t: Token) =>
  t.text === ';' || t.text === ',' || t.text === '(' || t.text === ')' || t.text === '—' || t.text === '–' || t.pos === 'SCONJ' || (t.pos === 'PRON' && /^(which|who|that)$/.test(t.lower)) || (t.pos === 'CCONJ' && t.lower === 'but');

// ---------- noun phrases ----------

/** A noun, or a word the tagger took for a verb right before the clause's auxiliary ("Database lock is"). */
const nounLike = (ts: Token[], i: number) =>
  isNoun(ts[i]) || (ts[i]?.pos === 'VERB' && ((ts[i + 1]?.pos === 'AUX' && isNoun(ts[i - 1])) || (/[^s]s$/.test(ts[i]!.lower) && ts[i - 1]?.pos === 'ADJ' && (!ts[i + 1] || ts[i + 1]!.pos === 'ADP' || ts[i + 1]!.pos === 'PUNCT'))));

/** Can token i be inside a noun phrase (given its neighbours)? */
function npPart(ts: Token[], i: number, skip: ReadonlySet<number>): boolean {
  const t = ts[i];
  if (!t || skip.has(i)) return false;
  if (t.pos === 'NOUN' || t.pos === 'PROPN' || t.pos === 'ADJ') return true;
  const next = ts[i + 1];
  // "on-time delivery", "in-house team": a preposition fused into a compound.
  if (t.pos === 'ADP' && next?.text === '-' && t.end === next.start && ts[i + 2] && next.end === ts[i + 2]!.start) return true;
  // Participles and adverbs modifying a noun: "recurring revenue", "monthly net burn".
  if ((t.pos === 'VERB' || t.pos === 'ADV') && next && !skip.has(i + 1) && (isNoun(next) || next.pos === 'ADJ' || (next.pos === 'VERB' && isNoun(ts[i + 2]))))
    return t.pos === 'VERB' ? /(ing|ed|en)$/.test(t.lower) : /ly$/.test(t.lower);
  // Tagging slips: "Database lock is" — a verb right before the clause's auxiliary, after a noun;
  // "new diagnostic centres by" — a plural after adjectives, before a preposition or the end.
  if (t.pos === 'VERB' && next?.pos === 'AUX' && isNoun(ts[i - 1])) return true;
  if (t.pos === 'VERB' && /[^s]s$/.test(t.lower) && ts[i - 1]?.pos === 'ADJ' && (!next || next.pos === 'ADP' || next.pos === 'PUNCT')) return true;
  // Identifiers inside a name: "Phase 2 trial", "Scope 1 emissions".
  if (t.pos === 'NUM' && ts[i - 1] && /^[A-Z]/.test(ts[i - 1]!.text) && isNoun(ts[i - 1]) && /^\d{1,3}$/.test(t.text)) return true;
  if (t.text === '-' && ts[i - 1] && ts[i + 1] && /\w$/.test(ts[i - 1]!.text) && /^\w/.test(ts[i + 1]!.text) && ts[i - 1]!.end === t.start && t.end === ts[i + 1]!.start) return true;
  // "and" between two nouns of one phrase: "cash and equivalents".
  if (t.lower === 'and' && isNoun(ts[i - 1]) && isNoun(ts[i + 1]) && !skip.has(i + 1)) return true;
  if (t.lower === "'s" || t.lower === '’s') return isNoun(ts[i - 1]);
  return false;
}

/** The noun phrase ending at token `j` (walking left), as [start, end] inclusive; trailing non-nouns dropped. */
function npEndingAt(ts: Token[], j: number, lo: number, skip: ReadonlySet<number>): [number, number] | undefined {
  let end = j;
  while (end >= lo && ts[end] && !isNoun(ts[end])) {
    if (!npPart(ts, end, skip)) return undefined;
    end--;
  }
  if (end < lo || !isNoun(ts[end])) return undefined;
  let start = end;
  while (start - 1 >= lo && npPart(ts, start - 1, skip)) {
    // "company reports annual revenue": a noun right before an adjective ends the phrase (a tagging slip).
    const t = ts[start]!;
    const before = ts[start - 1]!;
    if ((t.pos === 'ADJ' || t.pos === 'VERB') && isNoun(before) && before.end !== t.start) break;
    start--;
  }
  while (start < end && (ts[start]!.lower === 'and' || ts[start]!.text === '-')) start++;
  return [start, end];
}

/** The noun phrase starting at token `i` (walking right). */
function npStartingAt(ts: Token[], i: number, hi: number, skip: ReadonlySet<number>): [number, number] | undefined {
  let k = i;
  while (k <= hi && ts[k] && (ts[k]!.pos === 'DET' || ts[k]!.pos === 'PRON' && /^(its|their|our|his|her|your)$/.test(ts[k]!.lower))) k++;
  if (!npPart(ts, k, skip)) return undefined;
  let end = k;
  let lastNoun = nounLike(ts, k) ? k : -1;
  while (end + 1 <= hi && npPart(ts, end + 1, skip)) {
    end++;
    if (nounLike(ts, end)) lastNoun = end;
  }
  return lastNoun >= k ? [k, lastNoun] : undefined;
}

/** "total cost" + "of the project": an of-complement belongs to the phrase it follows. */
function withOfComplement(ts: Token[], np: [number, number], hi: number, skip: ReadonlySet<number>): [number, number] {
  const of = np[1] + 1;
  if (of <= hi && ts[of]?.lower === 'of') {
    const next = npStartingAt(ts, of + 1, hi, skip);
    // "P50 estimate of annual energy yield" is about the yield; "total cost of the project" about the cost of it.
    if (next) return ESTIMATE_HEADS.has(ts[np[1]]!.lemma) || GENERIC_HEADS.has(ts[np[1]]!.lemma) ? next : [np[0], next[1]];
  }
  return np;
}

function phrase(ts: Token[], [a, b]: [number, number]): string {
  let out = '';
  for (let i = a; i <= b; i++) {
    const t = ts[i]!;
    if (t.pos === 'DET' || (t.pos === 'PRON' && /^(its|their|our|his|her|your)$/.test(t.lower))) continue;
    const glue = i > a && (t.text === '-' || ts[i - 1]!.text === '-' || /^['’]s$/.test(t.text)) && t.start === ts[i - 1]!.end;
    out += (out && !glue ? ' ' : '') + t.text;
  }
  return out.replace(SUBJECT_NOISE, '').replace(/\s+/g, ' ').replace(/^[\s-]+|[\s-]+$/g, '').trim();
}

function normSubject(s: string): string {
  // Keep acronyms' case; lower-case the rest.
  const bare = s.replace(SUBJECT_HEDGES, '');
  return (bare || s).split(' ').map((w) => (/^[A-Z0-9&]{2,}[a-z]?$/.test(w) || /\d/.test(w) ? w : w.toLowerCase())).join(' ');
}

// ---------- the reader ----------

interface Ctx {
  /** The document's year, for dates written without one. */
  refYear?: number;
  /** What the line is about when it says so: its label or run-in heading ("Net revenue retention: ..."). */
  context?: string;
  /** The period a heading or table column gives the lines under it ("Results for FY2025", "| Metric | FY2025 |"). */
  period?: string;
  /** Offset of the sentence's text in the document. */
  offset: number;
  /** Dates and numbers read in this sentence at most (the reading of each one walks the sentence); default DEFAULT_LIMITS. */
  maxFigures?: number;
  /** Where mentions beyond maxFigures are counted. */
  report?: LimitsReport;
}

interface Mention {
  at: number;
  to: number;
  t0: number;
  t1: number;
  num?: NumberMention;
  date?: DateMention;
}

function tokenRange(ts: Token[], at: number, to: number): [number, number] {
  // The first token ending after `at` (token ends increase): a binary search, not a scan per mention.
  let lo = 0;
  let hi = ts.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (ts[mid]!.end > at) hi = mid;
    else lo = mid + 1;
  }
  let t0 = lo < ts.length ? lo : -1;
  if (t0 < 0) t0 = ts.length - 1;
  let t1 = t0;
  while (t1 + 1 < ts.length && ts[t1 + 1]!.start < to) t1++;
  return [t0, t1];
}

function clauseStart(ts: Token[], i: number, skip: ReadonlySet<number>): number {
  for (let k = i - 1; k >= 0; k--) {
    // A parenthesis before the figure ("revenue (ARR) of") is skipped whole.
    if (ts[k]!.text === ')') {
      let open = k - 1;
      while (open >= 0 && ts[open]!.text !== '(') open--;
      if (open >= 0) {
        k = open;
        continue;
      }
    }
    if (!skip.has(k) && isBoundary(ts[k]!) && !(ts[k]!.text === ',' && isNumberish(ts[k - 1]) && isNumberish(ts[k + 1]))) return k + 1;
    // "We could not verify X: the factors give 58.9 kt": a colon followed by a clause starts one;
    // "Steel for the girder: 3,400 t" (the figure right after it) does not.
    if (ts[k]!.text === ':' && i - k > 2 && ts.slice(k + 1, i).some((t) => t.pos === 'VERB' || t.pos === 'AUX')) return k + 1;
  }
  return 0;
}
function clauseEnd(ts: Token[], i: number, skip: ReadonlySet<number>): number {
  for (let k = i + 1; k < ts.length; k++) {
    if (ts[k]!.text === '(' && ts[k - 1] && isNoun(ts[k - 1])) {
      // Only a short parenthesis is skipped: look no further than 4 tokens.
      let close = -1;
      for (let x = k + 1; x <= k + 4 && x < ts.length; x++) {
        if (ts[x]!.text === ')') {
          close = x;
          break;
        }
      }
      if (close > 0) {
        k = close;
        continue;
      }
    }
    if (!skip.has(k) && isBoundary(ts[k]!)) return k - 1;
  }
  return ts.length - 1;
}
const isNumberish = (t: Token | undefined) => !!t && /^\d/.test(t.text);

/** The clause's grammatical subject: its first noun phrase that is not inside a prepositional phrase. */
function clauseSubject(ts: Token[], c0: number, before: number, skip: ReadonlySet<number>): [number, number] | undefined {
  let i = c0;
  while (i < before) {
    const t = ts[i]!;
    if (skip.has(i) || t.pos === 'DET' || t.pos === 'ADV' || t.pos === 'PUNCT' || t.pos === 'CCONJ') {
      i++;
      continue;
    }
    if (t.pos === 'ADP' && t.lower !== 'of' && !npPart(ts, i, skip)) {
      // Skip the prepositional phrase: "At this burn", "After removing ... costs".
      i++;
      // ...its object: determiners, then the phrase; a second determiner starts the clause's own subject.
      let sawNoun = false;
      while (i < before) {
        const u = ts[i]!;
        if ((u.pos === 'DET' || u.pos === 'PRON') && sawNoun) break;
        const part = skip.has(i) || u.pos === 'DET' || u.pos === 'PRON' || npPart(ts, i, skip) || u.pos === 'NUM' || (u.pos === 'VERB' && (/ing$/.test(u.lower) || /^(DET|PRON)$/.test(ts[i - 1]!.pos)));
        if (!part) break;
        if (isNoun(u) || u.pos === 'VERB' || skip.has(i)) sawNoun = true;
        i++;
      }
      continue;
    }
    if (t.pos === 'PRON' && !/^(its|their|our|his|her|your)$/.test(t.lower)) return undefined;
    const np = npStartingAt(ts, i, before - 1, skip);
    if (np) return withOfComplement(ts, np, before - 1, skip);
    if (t.pos === 'VERB' || t.pos === 'AUX') return undefined;
    i++;
  }
  return undefined;
}

/** Subject of a figure whose subject stands before it: "X of 24 months", "X is 14%", "X: 3,400 t". */
function leftSubject(ts: Token[], m: Mention, skip: ReadonlySet<number>): [number, number] | undefined {
  const c0 = clauseStart(ts, m.t0, skip);
  let j = m.t0 - 1;
  while (j >= c0 && (APPROX_TOKENS.has(ts[j]!.lower) && ts[j]!.lower !== 'of' || skip.has(j) && ts[j]!.pos !== 'NUM')) j--;
  // "... and Scope 2 emissions 63.5 kt": a phrase right before the figure, with no verb between, is its subject.
  if (j >= c0 && isNoun(ts[j]) && !skip.has(j) && (ts[j - 1]?.lower === 'and' || ts[j - 1]?.text === ',' || j === c0 || npPart(ts, j - 1, skip))) {
    const np = npEndingAt(ts, j, c0, skip);
    if (np && (ts[np[0] - 1]?.lower === 'and' || ts[np[0] - 1]?.text === ',' || np[0] === c0)) return np;
  }
  if (j >= c0 && /^(of|from|by|at|to)$/.test(ts[j]!.lower)) {
    let k = j - 1;
    if (ts[k]?.text === ')') {
      while (k > c0 && ts[k]!.text !== '(') k--;
      k--;
    }
    // "bring the leakage rate down to 15%": past the particle to the phrase it moves.
    while (k > c0 && (ts[k]!.pos === 'ADV' || ts[k]!.pos === 'ADP') && /^(down|up|back|out|further)$/.test(ts[k]!.lower)) k--;
    // "the readout slipping to Q4 2027", "costs rising to $5M": past a participle right after a noun to the
    // phrase that moves (the participle modifies it; it is not the clause's verb).
    if (ts[j]!.lower === 'to' && k > c0 && ts[k]!.pos === 'VERB' && /(ing|ed)$/.test(ts[k]!.lower) && isNoun(ts[k - 1]) && !skip.has(k - 1)) k--;
    // "EBITDA for the year to 31 March 2026 at £16.2m": past the dates and their prepositions to the phrase.
    if (ts[j]!.lower !== 'of') {
      while (k >= c0 && (skip.has(k) || ((ts[k]!.pos === 'ADP' || ts[k]!.pos === 'DET') && skip.has(k + 1)) || (ts[k]!.lower === 'year' && ts[k - 1]?.lower === 'the' && ts[k - 2]?.lower === 'for'))) {
        k--;
        if (ts[k]?.lower === 'the' && ts[k + 1]?.lower === 'year') k -= 2;
      }
    }
    const np = npEndingAt(ts, k, c0, skip);
    // "runway of 24 months", "restated its runway from 24 months", "review time by 40%".
    if (np && (ts[j]!.lower === 'of' || ts[np[0] - 1]?.pos !== 'ADP')) return np;
  }
  // A clause that is only a phrase and its figure ("with an EBITDA margin near 11%"): the phrase right before it.
  return clauseSubject(ts, c0, m.t0, skip) ?? (j >= c0 ? npEndingAt(ts, j, c0, skip) : undefined);
}

/** For "N <noun>" counts: the counted noun phrase after the number. */
function countedUnit(ts: Token[], m: Mention, skip: ReadonlySet<number>): { np: [number, number]; head: Token; qualifiers: string[] } | undefined {
  let k = m.t1 + 1;
  if (ts[k]?.text === '+') k++;
  // "18,000 a week", "3 per site": a rate; the counted thing is not named here.
  if (/^(a|an|per|each|every)$/.test(ts[k]?.lower ?? '')) return undefined;
  // "20-engineer target": the counted noun is the one after the hyphen.
  if (ts[k]?.text === '-' && isNoun(ts[k + 1])) return { np: [k + 1, k + 1], head: ts[k + 1]!, qualifiers: [] };
  let np = npStartingAt(ts, k, clauseEnd(ts, m.t1, skip), skip);
  if (!np) {
    // Tagging slips: "one new vertical (" — an adjective-tagged word ending the phrase is its noun.
    let e = k;
    while (ts[e] && (ts[e]!.pos === 'ADJ' || ts[e]!.pos === 'ADV') && !skip.has(e)) e++;
    if (e > k && ts[e - 1]!.pos === 'ADJ' && (!ts[e] || ts[e]!.pos === 'PUNCT' || ts[e]!.pos === 'ADP')) np = [k, e - 1];
  }
  if (!np || np[0] !== k && ts[k]!.pos !== 'DET') return undefined;
  const head = ts[np[1]]!;
  if (head.pos === 'PROPN' && !/^[a-z]/.test(head.text) && !/s$/.test(head.text)) return undefined;
  // Nouns before the head narrow it ("traffic lanes"); adjectives and participles do not ("paying customers").
  const qualifiers = ts.slice(np[0], np[1]).filter((t) => t.pos === 'NOUN').map((t) => t.lemma);
  return { np, head, qualifiers };
}

/**
 * "<verb> <object> N <time> after|before <event>": the object a verb acted on, N after the event — the
 * figure is the object's delay from the event ("notification after detection"). Only a noun phrase that is
 * the verb's direct object, right before the duration, and an event phrase right after the preposition.
 */
function relativeDuration(ts: Token[], m: Mention, c1: number, skip: ReadonlySet<number>): { object: [number, number]; text: string } | undefined {
  const prep = ts[m.t1 + 1];
  if (!prep || !/^(after|before)$/.test(prep.lower)) return undefined;
  const event = npStartingAt(ts, m.t1 + 2, c1, skip);
  if (!event) return undefined;
  const object = npEndingAt(ts, m.t0 - 1, 0, skip);
  if (!object || object[1] !== m.t0 - 1) return undefined;
  let v = object[0] - 1;
  while (v >= 0 && (ts[v]!.pos === 'DET' || (ts[v]!.pos === 'PRON' && /^(its|their|our|his|her|your|my)$/.test(ts[v]!.lower)))) v--;
  if (v < 0 || ts[v]!.pos !== 'VERB' || LIGHT_VERBS.has(ts[v]!.lemma)) return undefined;
  // "the detection time": a generic head says only that the event is a point in time.
  const ev: [number, number] = event[1] > event[0] && GENERIC_HEADS.has(ts[event[1]]!.lemma) ? [event[0], event[1] - 1] : event;
  return { object, text: `${phrase(ts, object)} ${prep.lower} ${phrase(ts, ev)}` };
}

/** Verbs of saying and holding a view: their subject is who states a figure, not what it measures. */
const SAYING_VERBS = new Set(['say', 'state', 'report', 'confirm', 'estimate', 'maintain', 'accept', 'consider', 'believe', 'claim', 'assert', 'argue', 'note', 'agree', 'propose', 'insist', 'put', 'calculate', 'compute', 'assess', 'quote', 'present', 'show', 'disclose', 'announce', 'guide', 'see', 'view', 'think', 'reckon', 'value', 'adopt', 'use']);

/** Verbs of expecting, scheduling and guiding: their object is what a date after it schedules. */
const EXPECTING_VERBS = new Set(['expect', 'forecast', 'project', 'plan', 'schedule', 'anticipate', 'target', 'estimate', 'predict', 'guide']);

/** The subject is who states the figure ("management stands by £18.5m"), not what it measures. */
function isAgent(ts: Token[], subject: [number, number], figureAt: number): boolean {
  const between = ts.slice(subject[1] + 1, figureAt);
  if (between.some((t) => t.pos === 'AUX')) return false;
  // "stands by £18.5m" holds a view; "stood at 96.2%" measures.
  return between.some((t, i) => t.pos === 'VERB' && (SAYING_VERBS.has(t.lemma) || (t.lemma === 'stand' && between[i + 1]?.lower === 'by')));
}

const lemmaOf = (t: Token) => (t.lemma && t.lemma !== t.lower && !/[^a-z]/.test(t.lemma) ? t.lemma : t.lower.replace(/(?<=[^s])s$/, ''));

function mainVerb(ts: Token[], c0: number, before: number): Token | undefined {
  for (let i = before - 1; i >= c0; i--) {
    const t = ts[i]!;
    if (t.pos === 'VERB' && !npPart(ts, i, new Set())) return LIGHT_VERBS.has(t.lemma) ? undefined : t;
    if (t.pos === 'AUX') return undefined;
  }
  return undefined;
}

function dateValue(d: DateMention): Value {
  return { kind: 'date', value: d.start, high: d.end, label: d.label };
}

function numberValue(n: NumberMention): Value {
  const v: Value = { kind: n.kind === 'measure' ? 'measure' : n.kind, value: n.value };
  if (n.high !== undefined) v.high = n.high;
  if (n.approx) v.approx = true;
  if (n.atLeast) v.atLeast = true;
  if (n.atMost) v.atMost = true;
  if (n.plus) v.plus = true;
  if (n.unit && n.unit.factor !== 1) v.factor = n.unit.factor;
  return v;
}

function identifiersIn(ts: Token[], [a, b]: [number, number]): string[] {
  const out: string[] = [];
  for (let i = a; i <= b; i++) if (ts[i]!.pos === 'NUM' && ts[i - 1]) out.push(`${ts[i - 1]!.text} ${ts[i]!.text}`.toLowerCase());
  return out;
}

/** Read one sentence. `s` offsets are relative to the text it was read from; `ctx.offset` maps them into the document. */
export function readSentence(s: Sentence, ctx: Ctx): SentenceReading {
  const ts = s.tokens;
  const text = s.text;
  const base = s.start;
  const dates = findDates(text, ctx.refYear).filter((d) => !Number.isNaN(d.start) || /^Q[1-4]$/.test(d.label));
  const nums = findNumbers(text, dates.map((d) => [d.at, d.to] as const));
  const abs = (x: number) => base + x;
  const mentions: Mention[] = [];
  for (const d of dates) {
    const [t0, t1] = tokenRange(ts, abs(d.at), abs(d.to));
    mentions.push({ at: d.at, to: d.to, t0, t1, date: d });
  }
  for (const n of nums) {
    const [t0, t1] = tokenRange(ts, abs(n.at), abs(n.to));
    mentions.push({ at: n.at, to: n.to, t0, t1, num: n });
  }
  mentions.sort((a, b) => a.at - b.at);
  // Each mention's reading walks the sentence: a bounded number of them keeps a sentence's work bounded.
  const maxFigures = ctx.maxFigures ?? DEFAULT_LIMITS.maxSentenceFigures;
  if (mentions.length > maxFigures) {
    if (ctx.report) ctx.report.figures_ignored += mentions.length - maxFigures;
    mentions.length = maxFigures;
  }
  // Tokens of dates and figures are opaque to the phrase finder (identifiers like "Phase 2" are not).
  const skip = new Set<number>();
  for (const m of mentions) if (m.date) for (let i = m.t0; i <= m.t1; i++) skip.add(i);

  const reading: SentenceReading = {
    figures: [],
    dates: [],
    accepted: [],
    withdrawn: [],
    disputes: DISPUTE.test(text),
    negated: NEGATION.test(text),
    modal: MODAL.test(text),
    done: DONE.test(text) && !DISPUTE.test(text),
    hasAction: ts.some((t, i) => (t.pos === 'VERB' || t.pos === 'NOUN') && !skip.has(i) && !/^(target|aim|plan|intend|goal|objective|new)/.test(t.lemma)),
  };
  const hedgeOf = (c0: number, c1: number) => HEDGES.exec(ts.slice(c0, c1 + 1).map((t) => t.text).join(' '))?.[1]?.toLowerCase();

  // 1. Which number mentions are not figures at all.
  const figureMentions: Mention[] = [];
  for (const m of mentions) {
    if (m.date) continue;
    const n = m.num!;
    const prevTok = ts[m.t0 - 1];
    const nextTok = ts[m.t1 + 1];
    const plain = n.kind === 'count' && n.value === Math.trunc(n.value) && n.high === undefined;
    // "Phase 2", "Scope 1", "Report No. 9", "(1)": part of a name or an enumerator.
    if (plain && !n.words && prevTok && /^[A-Z]/.test(prevTok.text) && prevTok.end === ts[m.t0]!.start - 1 && (prevTok.pos === 'PROPN' || (prevTok.pos === 'NOUN' && m.t0 > 1))) continue;
    // "events reported to date number seven": lower-case "number" before a number written in words is the verb
    // (to number = to total); identifiers are written "number 7", "No. 7" or "Number Seven", and after a
    // determiner "number" is the noun ("our number one priority").
    const numberVerb = n.words && prevTok?.text === 'number' && !/^(the|a|an|our|its|their|his|her|your|my|this|that)$/.test(ts[m.t0 - 2]?.lower ?? '');
    // "at week 16", "on day 28", "in year 3": a singular unit of time before a plain number is a point on a
    // timeline (an identifier), not a count of it.
    if (plain && !n.words && prevTok && /^(day|week|month|year|quarter|hour|minute)$/i.test(prevTok.text)) continue;
    if (plain && prevTok && !numberVerb && /^(no\.?|nr\.?|#|number|version|v|section|clause|article|item|page|annex|appendix|schedule|table|step|stage|phase|round|tier|level|grade|class|lot|line|route|gate|wave|cohort|arm|part|chapter|rule|box|zone|sector|block|unit|room|floor|building|model|series|type)$/i.test(prevTok.text)) continue;
    if (plain && prevTok?.text === '(' && nextTok?.text === ')') continue;
    // A year written as a number ("the 1962 structure").
    if (plain && !n.words && n.value >= 1900 && n.value <= 2100 && /^\d{4}$/.test(n.text)) continue;
    // "over the last two quarters", "in the next 18 months": a time window, not a figure.
    if ((n.kind === 'measure' && n.unit?.dim === 'duration' || plain) && WINDOW_BEFORE.test(text.slice(0, n.at))) continue;
    // "the ten largest customers", "top 10": a selection, not a count.
    if (plain && (/\b(the|top|first|bottom)\s*$/i.test(text.slice(0, n.at)) && (nextTok?.pos === 'ADJ' && /(est|most|top)$/.test(nextTok.lower) || /\btop\s*$/i.test(text.slice(0, n.at))))) continue;
    if (n.words && /^(one|a)$/i.test(n.text.trim()) && (/^\s*(of|another|-|off|time)\b/i.test(text.slice(n.to)) || /\b(no|any|every|each|the|this|that)\s*$/i.test(text.slice(0, n.at)))) continue;
    // "two thirds of them": a fraction.
    if (/^\s*(third|quarter|half|fifth)s?\b/i.test(text.slice(n.to)) && n.words) continue;
    figureMentions.push(m);
  }
  for (const m of figureMentions) for (let i = m.t0; i <= m.t1; i++) skip.add(i);

  // 2. Subject, unit and period of each number figure.
  /** Number figures that name nothing they count ("say seven"): a count named before a colon may say what. */
  const bare = new Set<number>();
  for (const m of figureMentions) {
    const n = m.num!;
    const c0 = clauseStart(ts, m.t0, skip);
    const c1 = clauseEnd(ts, m.t1, skip);
    let subject: [number, number] | undefined;
    let subjectText: string | undefined;
    let metric: string;
    let unit: string | undefined;
    let qualifiers: string[] = [];
    let t1 = m.t1;
    const after = text.slice(n.to);
    if (n.kind === 'money') {
      metric = n.currency!;
      unit = n.currency!;
    } else if (n.kind === 'percent') {
      metric = 'percent';
      unit = '%';
    } else if (n.kind === 'points') {
      metric = 'points';
      unit = 'pp';
    } else if (n.kind === 'ratio') {
      metric = 'ratio';
      unit = 'x';
    } else if (n.kind === 'measure') {
      metric = n.unit!.dim;
      unit = n.unit!.label + (n.unit!.qualifier ? ` ${n.unit!.qualifier}` : '');
    } else {
      const counted = countedUnit(ts, m, skip);
      if (counted) {
        metric = `count:${lemmaOf(counted.head)}`;
        unit = phrase(ts, counted.np).toLowerCase();
        qualifiers = counted.qualifiers;
        t1 = counted.np[1];
      } else {
        metric = 'count';
        bare.add(m.t0);
      }
    }
    // "$6.7M of contracts", "3,400 tonnes of steel", "22% of ARR": the subject follows "of".
    let k = t1 + 1;
    if (ts[k]?.text === '+') k++;
    // "Leakage was 19.4% of distribution input": the clause says what the share measures.
    const measured = n.kind === 'percent' && ts[k]?.lower === 'of' ? leftSubject(ts, m, skip) : undefined;
    if (measured && ts.slice(measured[1] + 1, m.t0).some((t) => t.pos === 'AUX' || (t.pos === 'VERB' && !SAYING_VERBS.has(t.lemma))) && !GENERIC_HEADS.has(ts[measured[1]]!.lemma)) {
      subject = measured;
      subjectText = phrase(ts, measured);
    } else if (ts[k]?.lower === 'of' && n.kind !== 'count') {
      const np = npStartingAt(ts, k + 1, c1, skip);
      if (np) {
        subject = np;
        subjectText = phrase(ts, np);
        if (n.kind === 'percent') {
          // A share of something: what the share is of, and what the clause says about it.
          const rest = ts.slice(np[1] + 1, c1 + 1).filter((t) => isNoun(t) || t.pos === 'VERB' || t.pos === 'ADJ').slice(0, 6).map((t) => t.text);
          const lead = rest.length ? '' : ts.slice(c0, m.t0).filter((t) => isNoun(t) || t.pos === 'VERB').slice(0, 6).map((t) => t.text).join(' ');
          const prevClause = !rest.length && !lead && ts[c0 - 1]?.text === '(' ? ts.slice(clauseStart(ts, c0 - 1, skip), c0 - 1).filter((t) => isNoun(t) || t.pos === 'VERB').slice(0, 6).map((t) => t.text).join(' ') : '';
          subjectText = ['share of', subjectText, ...rest, lead, prevClause].filter(Boolean).join(' ');
        }
      }
    }
    if (!subjectText && metric.startsWith('count:')) {
      // Counted things: the noun is most of the subject; the verb and the clause's subject narrow it.
      const unitNp = phrase(ts, [m.t1 + 1, t1]).toLowerCase();
      const verb = mainVerb(ts, c0, m.t0);
      const subj = clauseSubject(ts, c0, m.t0, skip);
      const who = subj && !ts.slice(subj[0], subj[1] + 1).every((t) => t.pos === 'PROPN') ? phrase(ts, subj) : '';
      subjectText = [unitNp.replace(/^-/, ''), verb?.text.toLowerCase(), who ? `(${who})` : ''].filter(Boolean).join(' ');
      subject = subj;
    }
    // "logged your notification 85 hours after the detection time": a duration between an event and what a verb
    // did to its object measures the object's delay from that event ("notification after detection").
    if (!subjectText && n.kind === 'measure' && n.unit?.dim === 'duration') {
      const rel = relativeDuration(ts, m, c1, skip);
      if (rel) {
        subject = rel.object;
        subjectText = rel.text;
      }
    }
    // "gives the number of affected records as about 180,000": a bare number after "the number of X as" counts X.
    if (!subjectText && metric === 'count') {
      let j = m.t0 - 1;
      while (j > c0 && APPROX_TOKENS.has(ts[j]!.lower)) j--;
      const np = ts[j]?.lower === 'as' ? npEndingAt(ts, j - 1, c0, skip) : undefined;
      if (np && np[1] === j - 1 && ts[np[0] - 1]?.lower === 'of' && COUNT_HEADS.has(ts[np[0] - 2]?.lemma ?? '') && ts[np[1]]!.pos === 'NOUN') {
        subject = np;
        subjectText = phrase(ts, np);
        metric = `count:${lemmaOf(ts[np[1]]!)}`;
        unit = ts[np[1]]!.lemma;
        bare.delete(m.t0);
      }
    }
    if (!subjectText) {
      // A number before a noun it sizes: "a 24-month runway", "a 20-engineer target".
      if (ts[t1 + 1]?.text !== 'of') {
        const np = npStartingAt(ts, t1 + 1, c1, skip);
        if (np && np[0] === t1 + 1 && ts[m.t1]!.end === ts[t1]!.end && /-/.test(n.text + (ts[t1 + 1]?.text ?? ''))) subject = np;
      }
      subject ??= leftSubject(ts, m, skip);
      if (!subject) {
        const np = npStartingAt(ts, clauseEnd(ts, m.t1, skip) >= t1 + 1 ? t1 + 1 : t1, c1, skip);
        if (np && ts[t1 + 1]?.pos !== 'ADP') subject = np;
      }
      if (subject) subjectText = phrase(ts, subject);
    }
    // "the full-base figure of 109%" under "Net revenue retention:", or "management stands by £18.5m" under
    // "EBITDA:": the line says what the figure is when the clause only says who states it.
    const agent = subject && !metric.startsWith('count') && isAgent(ts, subject, m.t0);
    const vague = subject && (GENERIC_HEADS.has(ts[subject[1]]!.lemma) || ESTIMATE_HEADS.has(ts[subject[1]]!.lemma) || /^P\d{2}$/.test(ts[subject[1]]!.text));
    // "the slot-based on-time delivery measure of 91.4%": the phrase without its vague head says what is measured.
    if (vague && subject && subject[1] > subject[0] && !agent) {
      const rest = phrase(ts, [subject[0], subject[1] - 1]);
      if (rest.split(' ').length >= 2 && !/['’]s$/.test(rest)) subjectText = rest;
    }
    if (ctx.context && (!subjectText || agent || (vague && subjectText === phrase(ts, subject!)))) {
      subjectText = ctx.context;
      subject = undefined;
    }
    // A value named only as the other end of a pair ("up from EUR 62 million") takes the pair's subject below.
    const paired = EARLIER_FIGURE_BEFORE.test(text.slice(0, n.at)) || /\b(from|not|instead\s+of|in\s+place\s+of|rather\s+than|replac\w+|supersed\w+|vs\.?|versus|not\s+[^,;]{1,40}\s+but)\s*(?:the\s+|a\s+|an\s+)?(?:(?:earlier|previous|original|initial|old|former|prior|reported|stated|presented|published)\s+)?$/i.test(text.slice(0, n.at));
    if (!subjectText && paired) subjectText = '';
    else if (!subjectText) continue;
    // A unit-less count of "customer count" counts customers; "patient visits reached 1.9 million" counts visits.
    if (metric === 'count' && subject && !agent) {
      const head = ts[subject[1]]!;
      if (head.pos === 'NOUN' && /s$/.test(head.lower) && head.lemma !== head.lower && !GENERIC_HEADS.has(head.lemma) && !COUNT_HEADS.has(head.lemma)) {
        metric = `count:${lemmaOf(head)}`;
        unit = head.lower;
      }
      else if (COUNT_HEADS.has(head.lemma) && subject[1] > subject[0] && isNoun(ts[subject[1] - 1])) {
        metric = `count:${lemmaOf(ts[subject[1] - 1]!)}`;
        unit = ts[subject[1] - 1]!.lemma;
      }
    }
    const headLemma = subject ? ts[subject[1]]!.lemma : '';
    const fig: Figure = {
      subject: normSubject(subjectText),
      metric,
      ...(unit ? { unit } : {}),
      ...(qualifiers.length ? { qualifiers } : {}),
      value: numberValue(n),
      surface: text.slice(n.at, Math.max(n.to, ts[t1]!.end - base)).trim().replace(/[.,;:]$/, ''),
      mentionRole: 'asserted',
      span: [ctx.offset + abs(n.at), ctx.offset + Math.max(abs(n.to), ts[t1]!.end)],
      t0: m.t0,
      t1,
    };
    const ids = subject ? identifiersIn(ts, subject) : [];
    if (ids.length) fig.identifiers = ids;
    const hedge = n.approx ? undefined : hedgeOf(c0, c1);
    if (hedge) fig.hedge = hedge;
    // The role of the mention in the sentence.
    const lead = text.slice(0, n.at);
    if (/\b(the|this|that|these|those)\s*$/i.test(lead) && CITE_AFTER.test(text.slice(Math.max(n.to, ts[t1]!.end - base)))) fig.mentionRole = 'cited';
    else if (/\b(the|this|that)\s+(?:[\w-]+\s+){0,2}(figure|number|value|estimate|amount)\s+of\s*$/i.test(lead) && CITE_AFTER.test(text.slice(Math.max(n.to, ts[t1]!.end - base)))) fig.mentionRole = 'cited';
    else if (/["“']\s*$/.test(lead) && /^[^"”']{0,30}["”']/.test(text.slice(n.to))) fig.mentionRole = 'cited';
    else if (NEGATION_BEFORE.test(lead) && !/\bnot\s+(?:only|just|least|more|less|fewer|below|above|over|under|exceed\w*)\s*$/i.test(lead)) fig.mentionRole = /(instead\s+of|in\s+place\s+of)\s*(?:the\s+)?$/i.test(lead) ? 'replaced' : 'negated';
    else if (/\brather\s+than\s*(?:the\s+)?$/i.test(lead)) fig.mentionRole = 'negated';
    // "We disagree with the 85-hour figure", "we dispute the 9%": the value the writer contests is denied, not stated.
    else if (DISPUTED_BEFORE.test(lead)) fig.mentionRole = 'negated';
    else if (EARLIER_FIGURE_BEFORE.test(lead)) fig.mentionRole = 'previous';
    else if (PREVIOUS_BEFORE.test(lead) || PREVIOUS_AFTER.test(after)) fig.mentionRole = /\bfrom\s*(?:the\s+)?$/i.test(lead) && !/\b(up|down)\s+from\s*(?:the\s+)?$/i.test(lead) ? 'from' : 'previous';
    reading.figures.push(fig);
  }

  // 3. Dates: a figure when a clause dates something ("Topline data is expected in Q2 2026"),
  //    else a period or deadline of the sentence.
  const numberFigures = reading.figures.slice();
  for (const m of mentions) {
    if (!m.date) continue;
    const d = m.date;
    const lead = text.slice(0, d.at);
    const c0 = clauseStart(ts, m.t0, skip);
    const c1 = clauseEnd(ts, m.t1, skip);
    const inClause = numberFigures.some((f) => f.t0 >= c0 && f.t0 <= c1);
    const scheduled = SCHEDULED_BEFORE.test(lead) && !/\bby\s*$/i.test(lead.replace(/\s*(?:the\s+)?(?:end\s+of\s+)?$/i, ' '));
    const termEnd = TERM_ENDS_BEFORE.test(lead) && !inClause;
    const periodLike = !termEnd && ((inClause && !scheduled) || DATE_PERIOD_BEFORE.test(lead) || DATE_BOUND_BEFORE.test(lead) || d.fiscal || Number.isNaN(d.start) || WINDOW_BEFORE.test(lead));
    let subject: [number, number] | undefined;
    if (!periodLike) {
      subject = leftSubject(ts, m, skip);
      if (subject && GENERIC_HEADS.has(ts[subject[1]]!.lemma) && ts[subject[1]]!.lemma !== 'date') subject = undefined;
      // A name is not an event: "Acme Corp ... for the third quarter" dates nothing.
      if (subject && (subject[1] > subject[0] || subject[0] > 0) && ts.slice(subject[0], subject[1] + 1).every((t) => t.pos === 'PROPN' && /^[A-Z]/.test(t.text))) subject = undefined;
      // A date is only a figure when something in the clause happens on it (a verb or "date of").
      const verbBetween = ts.slice(subject ? subject[1] + 1 : c0, m.t0).some((t) => t.pos === 'VERB' || t.pos === 'AUX' || t.lower === 'of' || t.text === ':');
      if (subject && !verbBetween) subject = undefined;
    }
    // "we now guide to a topline readout in Q4 2027", "we expect first sales in March": the object of a verb of
    // expecting or guiding, dated by "in", is what the date schedules (the clause's subject is who says so).
    // Verbs that report ("we report strong demand in Q3") leave the date a period.
    if (!subject && !periodLike && /\bin\s*$/i.test(lead) && m.t0 >= 2) {
      const np = npEndingAt(ts, m.t0 - 2, c0, skip);
      const verb = np ? ts.slice(c0, np[0]).reverse().find((t) => t.pos === 'VERB') : undefined;
      if (np && verb && EXPECTING_VERBS.has(verb.lemma) && !GENERIC_HEADS.has(ts[np[1]]!.lemma) && ts[np[1]]!.pos === 'NOUN') subject = np;
    }
    if (!subject) {
      reading.dates.push({ ...d, at: ctx.offset + abs(d.at), to: ctx.offset + abs(d.to) });
      continue;
    }
    const hedge = hedgeOf(c0, c1);
    const fig: Figure = {
      subject: normSubject(phrase(ts, subject)),
      metric: 'date',
      unit: 'date',
      value: dateValue(d),
      surface: d.text,
      mentionRole: 'asserted',
      span: [ctx.offset + abs(d.at), ctx.offset + abs(d.to)],
      t0: m.t0,
      t1: m.t1,
      ...(hedge ? { hedge } : {}),
    };
    const ids = identifiersIn(ts, subject);
    if (ids.length) fig.identifiers = ids;
    if (NEGATION_BEFORE.test(lead)) fig.mentionRole = /(instead\s+of|in\s+place\s+of)\s*(?:the\s+)?$/i.test(lead) ? 'replaced' : 'negated';
    else if (/\bfrom\s*$/i.test(lead)) fig.mentionRole = 'from';
    reading.figures.push(fig);
  }
  // A date in "from Q2 2026 to Q4 2026" after a subject: the second end takes the first's subject.
  for (const m of mentions) {
    if (!m.date || reading.figures.some((f) => f.t0 === m.t0)) continue;
    const lead = text.slice(0, m.date.at);
    const from = reading.figures.find((f) => f.metric === 'date' && f.mentionRole === 'from' && f.t1 < m.t0);
    const replaced = /(instead\s+of|in\s+place\s+of|rather\s+than|replac\w+|not)\s*(?:the\s+)?$/i.test(lead) ? reading.figures.find((f) => f.metric === 'date' && f.t1 < m.t0) : undefined;
    const anchor = /\bto\s*$/i.test(lead) && from ? from : replaced;
    if (!anchor) continue;
    const d = m.date;
    const fig: Figure = {
      ...anchor,
      value: dateValue(d),
      surface: d.text,
      mentionRole: anchor === from ? 'to' : /(instead\s+of|in\s+place\s+of)\s*(?:the\s+)?$/i.test(lead) ? 'replaced' : 'negated',
      span: [ctx.offset + abs(d.at), ctx.offset + abs(d.to)],
      t0: m.t0,
      t1: m.t1,
    };
    reading.dates = reading.dates.filter((x) => x.at !== ctx.offset + abs(d.at));
    reading.figures.push(fig);
  }
  reading.figures.sort((a, b) => a.t0 - b.t0);

  // 4. Pairs: "from A to B", "B instead of A", "B replaces A", "B, up from A".
  const figs = reading.figures;
  for (let i = 0; i < figs.length; i++) {
    const f = figs[i]!;
    if (f.mentionRole === 'from') {
      const to = figs.slice(i + 1).find((g) => g.mentionRole === 'asserted' && comparable(f, g) && /\bto\s*(?:the\s+)?$/i.test(text.slice(0, g.span![0] - ctx.offset - base)));
      if (to) {
        to.mentionRole = 'to';
        shareUnit(f, to);
        // "restated its runway from 24 months to 14 months": one subject for both ends.
        if (f.subject) to.subject = f.subject;
        reading.change = { from: f, to, revision: REVISION_WORDS.test(ts.slice(0, to.t0).map((t) => t.text).join(' ')) };
      } else f.mentionRole = 'previous';
    }
  }
  // "restated to 81% from 87%": the value after "from" is the old one when an earlier one came after "to".
  if (!reading.change) {
    for (const f of figs) {
      if (f.mentionRole !== 'previous' || !/\bfrom\s*(?:the\s+)?$/i.test(text.slice(0, f.span![0] - ctx.offset - base))) continue;
      const to = figs.filter((g) => g.t0 < f.t0 && g.mentionRole === 'asserted' && comparable(f, g) && /\bto\s*(?:the\s+)?$/i.test(text.slice(0, g.span![0] - ctx.offset - base))).at(-1);
      if (!to) continue;
      f.mentionRole = 'from';
      to.mentionRole = 'to';
      shareUnit(to, f);
      f.subject = to.subject;
      reading.change = { from: f, to, revision: REVISION_WORDS.test(text) };
      break;
    }
  }
  if (!reading.change) {
    for (let i = 0; i < figs.length; i++) {
      const f = figs[i]!;
      const afterF = text.slice(f.span![1] - ctx.offset - base);
      const beforeF = text.slice(0, f.span![0] - ctx.offset - base);
      if (f.mentionRole === 'replaced') {
        const to = figs.slice(0, i).reverse().find((g) => g.mentionRole === 'asserted' && comparable(f, g));
        if (to) {
          shareUnit(to, f);
          f.subject = to.subject;
          reading.change = { from: f, to, revision: true, replacement: !REVISION_WORDS.test(text) };
          break;
        }
      }
      // "B replaces the A", "B, up from A" (a change of a figure, not a year-on-year comparison, when the sentence revises).
      if (f.mentionRole === 'asserted' && REPLACE_AFTER.test(afterF)) {
        const from = figs.slice(i + 1).find((g) => comparable(f, g));
        if (from) {
          from.mentionRole = 'replaced';
          shareUnit(f, from);
          from.subject = f.subject;
          reading.change = { from, to: f, revision: true, replacement: !REVISION_WORDS.test(text) };
          break;
        }
      }
      if (f.mentionRole === 'previous' && /\b(up|down)\s+from\s*(?:the\s+)?$/i.test(beforeF)) {
        const to = figs.slice(0, i).reverse().find((g) => g.mentionRole === 'asserted' && comparable(f, g));
        if (to && REVISION_WORDS.test(text)) {
          shareUnit(to, f);
          reading.change = { from: f, to, revision: true };
          break;
        }
      }
    }
  }
  // "398 participants were randomised; the earlier figure of 412 should be disregarded": a value named as the
  // earlier one and set aside, beside a comparable value the sentence states, is a correction from it to that one.
  if (!reading.change && WITHDRAW.test(text)) {
    for (const f of figs) {
      if (f.mentionRole !== 'previous' || !EARLIER_FIGURE_BEFORE.test(text.slice(0, f.span![0] - ctx.offset - base))) continue;
      const to = figs.filter((g) => g.mentionRole === 'asserted' && comparable(f, g)).sort((a, b) => Math.abs(a.t0 - f.t0) - Math.abs(b.t0 - f.t0))[0];
      if (!to) continue;
      f.mentionRole = 'from';
      to.mentionRole = 'to';
      shareUnit(to, f);
      f.subject = to.subject;
      reading.change = { from: f, to, revision: true };
      break;
    }
  }
  if (reading.change) {
    const { from, to } = reading.change;
    if (!from.subject) from.subject = to.subject;
    if (!to.subject) to.subject = from.subject;
  }
  // "not 4% but 6%": an asserted value after "but" takes the subject of the value it corrects.
  for (const f of figs) {
    if (f.subject || f.mentionRole !== 'asserted') continue;
    const before = figs.filter((g) => g !== f && g.subject && comparable(f, g) && g.t0 < f.t0).at(-1);
    if (before) {
      shareUnit(before, f);
      f.subject = before.subject;
      if (!f.period && before.period) f.period = before.period;
    }
  }
  // "91.4% will be used from now on, superseding the 96.2% figure": a replacement word between two values.
  if (!reading.change) {
    for (let i = 0; i < figs.length && !reading.change; i++) {
      const f = figs[i]!;
      if (f.mentionRole !== 'asserted') continue;
      const g = figs.slice(i + 1).find((x) => comparable(f, x) && x.mentionRole !== 'negated');
      if (!g) continue;
      const between = text.slice(f.span![1] - ctx.offset - base, g.span![0] - ctx.offset - base);
      if (!REPLACE_BETWEEN.test(between) || NEGATION.test(between)) continue;
      g.mentionRole = 'replaced';
      shareUnit(f, g);
      g.subject = f.subject;
      reading.change = { from: g, to: f, revision: true, replacement: !REVISION_WORDS.test(text) };
    }
  }
  // "X is 9%, not 14%", "in Q4 2026, not Q2 2026": the denied value is the same figure.
  for (const f of figs) {
    if (f.mentionRole !== 'negated' && f.mentionRole !== 'cited' && f.subject) continue;
    const candidates = figs.filter((g) => g !== f && g.mentionRole === 'asserted' && g.subject && comparable(f, g));
    const other = candidates.filter((g) => g.t0 < f.t0).at(-1) ?? candidates[0];
    if (other && (f.mentionRole === 'negated' || !f.subject)) {
      shareUnit(other, f);
      f.subject = other.subject;
      if (!f.period && other.period) f.period = other.period;
    }
  }
  // The value a sentence denies names the figure it disagrees with ("58.9 kt rather than 63.5 kt").
  for (const f of figs) {
    if (f.mentionRole !== 'asserted') continue;
    const denied = figs.find((g) => g.mentionRole === 'negated' && g.subject === f.subject && g.metric === f.metric);
    if (denied) f.denies = denied.value;
  }
  // A change stated as "up 15%" / "down 3 points" after a figure is the change of that figure.
  for (let i = 1; i < figs.length; i++) {
    const f = figs[i]!;
    const lead = text.slice(0, f.span![0] - ctx.offset - base);
    if (f.mentionRole === 'asserted' && /\b(up|down|rose|fell|grew|declined|increased|decreased|improved|dropped|gained|lost)(?:\s+by)?\s*$/i.test(lead) && (f.metric === 'percent' || f.metric === 'points')) {
      const prev = figs[i - 1]!;
      if (prev.metric !== f.metric) f.subject = `${prev.subject} change`;
    }
  }

  // "Our concern is the serious adverse event count: the sponsor's materials still say seven while the safety
  // database holds nine": a count named before a colon, with no figure of its own, is what the bare numbers
  // after it count — the clauses after the colon only say who holds which value.
  const colon = ts.findIndex((t, i) => t.text === ':' && !skip.has(i));
  if (colon > 1 && !figs.some((f) => f.t0 < colon)) {
    const np = npEndingAt(ts, colon - 1, 0, skip);
    // "the serious adverse event count", "the headcount" (a compound counting the noun before it), or "the number of incidents".
    let counted: Token | undefined;
    if (np && COUNT_HEADS.has(ts[np[1]]!.lemma)) counted = np[1] > np[0] && isNoun(ts[np[1] - 1]) ? ts[np[1] - 1] : ts[np[1]];
    else if (np && ts[np[0] - 1]?.lower === 'of' && COUNT_HEADS.has(ts[np[0] - 2]?.lemma ?? '') && ts[np[1]]!.pos === 'NOUN') counted = ts[np[1]];
    const named = np && counted ? (ts[np[0] - 1]?.lower === 'of' && ts[np[0] - 2] ? [np[0] - 2, np[1]] as [number, number] : np) : undefined;
    if (named && counted) {
      for (const f of figs) {
        if (f.t0 < colon || !bare.has(f.t0) || f.value.kind !== 'count' || (f.mentionRole !== 'asserted' && f.mentionRole !== 'negated' && f.mentionRole !== 'cited')) continue;
        f.subject = normSubject(phrase(ts, named));
        f.metric = `count:${lemmaOf(counted)}`;
        f.unit = counted.lemma;
        delete f.identifiers;
      }
    }
  }

  // 5. Periods: the nearest non-figure date of the clause, or a period phrase of the sentence.
  for (const f of figs) {
    if (f.metric === 'date') continue;
    const c0 = clauseStart(ts, f.t0, skip);
    const c1 = clauseEnd(ts, f.t1, skip);
    const candidates = reading.dates.filter((d) => !Number.isNaN(d.start) || /^Q[1-4]$/.test(d.label));
    const inClause = candidates.filter((d) => d.at - ctx.offset >= ts[c0]!.start && d.at - ctx.offset <= ts[c1]!.end);
    // A date that opens the sentence ("As of June 30, 2026 ...", "In FY2025, ...") dates all of it.
    const opening = candidates.filter((d) => d.at - ctx.offset - base <= 12 && /^\W*(as\s+(of|at)|at|in|for|during|on|by)?\s*$/i.test(text.slice(0, d.at - ctx.offset - base)));
    const pick = (inClause.length ? inClause : opening).sort((a, b) => Math.abs(a.at - f.span![0]) - Math.abs(b.at - f.span![0]))[0];
    if (pick && !DATE_BOUND_BEFORE.test(text.slice(0, pick.at - ctx.offset - base))) f.period = pick.label;
    else for (const [re, p] of PERIOD_WORDS) if (re.test(text)) {
      f.period = p;
      break;
    }
    if (!f.period && ctx.period) f.period = ctx.period;
  }
  reading.figures = figs.filter((f) => f.subject !== '');
  // 6. What the sentence does with its figures: accept, withdraw.
  // Only a figure that is the object of the verb: "accept the $41.3M", "March 2028 is accepted" (not "3 accepted" offers).
  // "there have been nine events, not seven": a negation that only denies a figure leaves the rest of the
  // sentence affirmative (its acceptance stands); any other negation ("we do not accept") does not.
  let masked = text;
  for (const f of reading.figures) {
    if (f.mentionRole !== 'negated') continue;
    const at = f.span![0] - ctx.offset - base;
    const neg = NEGATION_BEFORE.exec(masked.slice(0, at));
    if (neg) masked = masked.slice(0, neg.index) + ' '.repeat(at - neg.index) + masked.slice(at);
  }
  const negated = reading.negated && NEGATION.test(masked);
  if (!reading.disputes && !negated) {
    const objectOf = (verb: RegExp, passive: RegExp) =>
      reading.figures.filter((f) => {
        if (f.mentionRole !== 'asserted' && f.mentionRole !== 'cited' && f.mentionRole !== 'to') return false;
        const lead = text.slice(0, f.span![0] - ctx.offset - base);
        const trail = text.slice(f.span![1] - ctx.offset - base);
        return verb.test(lead) || passive.test(trail);
      });
    const accepts = ACCEPT.test(text);
    // "we concur with the count, and the memorandum will show 228 units": one figure in an accepting sentence is the one accepted.
    const only = reading.figures.filter((f) => f.mentionRole === 'asserted' || f.mentionRole === 'to');
    const acceptAt = text.search(ACCEPT);
    if (accepts && only.length === 1 && !reading.change && only[0]!.span![0] - ctx.offset - base > acceptAt && !/\d\s*$/.test(text.slice(0, acceptAt))) reading.accepted = only;
    // "we now guide to a topline readout in Q4 2027": the writer stating its own current figure ("we" + "now"
    // before the verb) takes that value as its position — an acceptance, with no old value named.
    else if (!accepts && !reading.change && only.length && /\b(?:we|I)\s+now\s+(?!that\b)[a-z]+/i.test(text) && only.every((f) => /\b(?:we|I)\s+now\s+/i.test(text.slice(0, f.span![0] - ctx.offset - base)))) reading.accepted = only;
    else if (accepts) reading.accepted = objectOf(/\b(accept(?:s|ed)?|adopt(?:s|ed)?|agree(?:s|d)?\s+(?:to|with|on)|endors(?:es|ed)|ratif(?:y|ies|ied))\s+(?:the\s+|a\s+|its\s+|their\s+)?(?:[\w'’-]+\s+){0,4}(?:of\s+)?$/i, /^\s*(?:[\w-]+\s+){0,3}(?:is|are|was|were|has\s+been|have\s+been)\s+(?:now\s+)?(?:accepted|adopted|agreed|endorsed|ratified)\b/i);
    if (WITHDRAW.test(text)) reading.withdrawn = objectOf(/\b(withdr(?:aw|aws|ew)|retract(?:s|ed)?|rescind(?:s|ed)?|abandon(?:s|ed)?|disregard(?:s|ed)?|discard(?:s|ed)?)\s+(?:the\s+|its\s+|their\s+)?(?:[\w'’-]+\s+){0,4}(?:of\s+)?$/i, /^\s*(?:[\w-]+\s+){0,3}(?:is|are|was|were|has\s+been|have\s+been|(?:should|must|can|may|shall|will|is\s+to|are\s+to)\s+(?:now\s+)?be)\s+(?:now\s+)?(?:withdrawn|retracted|rescinded|abandoned|disregarded|discarded)\b/i);
  }
  return reading;
}

/** Same kind of quantity (a denied or previous value must be comparable to the asserted one). */
function comparable(a: Figure, b: Figure): boolean {
  if (a.metric === b.metric) return true;
  // "58.9 kt CO2e rather than 63.5 kt": the qualifier written once covers both.
  if (a.metric.replace(/_co2e$/, '') === b.metric.replace(/_co2e$/, '')) return true;
  if (a.metric === 'date' || b.metric === 'date') return false;
  // A bare number inherits the unit of its pair: "2.6 million cubic metres instead of 1.8 million".
  return a.metric === 'count' || b.metric === 'count';
}

/** Both ends of a change share what was written once: "from 420 to 388 randomized patients". */
function shareUnit(a: Figure, b: Figure): void {
  if (a.metric !== b.metric && a.metric.replace(/_co2e$/, '') === b.metric.replace(/_co2e$/, '')) {
    const [full, short] = a.metric.endsWith('_co2e') ? [a, b] : [b, a];
    short.metric = full.metric;
    if (full.unit) short.unit = full.unit;
    return;
  }
  const [known, bare] = a.metric === 'count' ? [b, a] : [a, b];
  if (bare.metric !== 'count' || known.metric === 'count') return;
  bare.metric = known.metric;
  if (known.unit) bare.unit = known.unit;
  if (known.qualifiers) bare.qualifiers = known.qualifiers;
  bare.value = { ...bare.value, kind: known.value.kind };
  bare.subject = known.subject;
}
