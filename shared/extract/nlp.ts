// wink-nlp with its English lite model, which ships inside its npm package: the
// offline extractor needs no network and no key. Loaded once per process.
// Tokens carry character offsets into the text they were read from, so that every
// figure can point at the exact span of the document that states it.
import winkNLP, { type ItemEntity, type ItemSentence } from 'wink-nlp';
import model from 'wink-eng-lite-web-model';
import { chunkChars, DEFAULT_LIMITS, type ExtractLimits, type LimitsReport } from './limits.ts';

export interface Token {
  text: string;
  lower: string;
  lemma: string;
  pos: string; // Universal POS tag: NOUN, VERB, NUM, PROPN, ADJ, ...
  /** Entity type covering this token, if any: DATE, MONEY, PERCENT, CARDINAL, DURATION, ... */
  entity?: string;
  /** Offsets of the token in the text given to `sentences` ([start, end)). */
  start: number;
  end: number;
}

export interface Sentence {
  text: string;
  start: number;
  end: number;
  tokens: Token[];
}

type Nlp = ReturnType<typeof winkNLP>;
let nlp: Nlp | undefined;

function instance(): Nlp {
  nlp ??= winkNLP(model);
  return nlp;
}

const ABBREVIATIONS = new Set([
  'mr', 'mrs', 'ms', 'dr', 'prof', 'inc', 'ltd', 'co', 'corp', 'no', 'nos', 'nr', 'vs', 'e.g', 'i.e', 'cf', 'st', 'jr', 'sr', 'approx', 'c', 'ca',
  'fig', 'p', 'pp', 'u.s', 'u.k', 'a.m', 'p.m', 'jan', 'feb', 'mar', 'apr', 'jun', 'jul', 'aug', 'sep', 'sept', 'oct', 'nov', 'dec', 'est', 'dept', 'art', 'sec', 'ref',
]);

/**
 * Sentence boundaries, found before the parser sees the text: wink-nlp reads "$61M."
 * as an abbreviation and runs two sentences together. A full stop ends a sentence
 * unless it ends a known abbreviation or an initial.
 */
export function sentenceSpans(text: string): [number, number][] {
  const out: [number, number][] = [];
  let start = 0;
  const re = /[.!?]+["”')\]]*(?=\s+["“'(\[]?[A-Z0-9£$€])/g;
  for (let m = re.exec(text); m; m = re.exec(text)) {
    // The word before the stop, when it stands alone ("$61M." is a figure, not an initial).
    const word = /(?:^|[\s(])([A-Za-z.]+)\.$/.exec(text.slice(Math.max(0, m.index - 12), m.index + 1))?.[1]?.toLowerCase();
    if (m[0].startsWith('.') && word && (ABBREVIATIONS.has(word) || /^[a-z]$/.test(word))) continue;
    const end = m.index + m[0].length;
    if (text.slice(start, end).trim()) out.push([start, end]);
    start = end;
  }
  if (text.slice(start).trim()) out.push([start, text.length]);
  return out;
}

/** Work done by the parser in this process: what the complexity tests and the bench read. */
export const parseStats = { calls: 0, chars: 0, largest: 0 };

const isSpace = (c: number) => c === 32 || (c >= 9 && c <= 13) || c === 160 || c === 0x2028 || c === 0x2029 || c === 0x3000 || (c >= 0x2000 && c <= 0x200a);

/**
 * Cut the sentence [a, b) of `text` into pieces the parser reads in bounded time: at
 * most chunkChars(limits) characters (cut after a space when there is one in the
 * second half), and no run of non-space characters longer than maxTokenChars
 * (wink-nlp's tokenizer is quadratic in a token's length). An ordinary sentence is one
 * piece. The pieces cover [a, b) exactly, so offsets stay those of the document.
 */
export function chunkSpans(text: string, a: number, b: number, limits: Pick<ExtractLimits, 'maxSentenceTokens' | 'maxTokenChars'> = DEFAULT_LIMITS): [number, number][] {
  const max = chunkChars(limits);
  const out: [number, number][] = [];
  let start = a;
  while (start < b) {
    let end = Math.min(b, start + max);
    let longRun = false;
    let run = 0;
    for (let i = start; i < end; i++) {
      run = isSpace(text.charCodeAt(i)) ? 0 : run + 1;
      if (run > limits.maxTokenChars) {
        end = i;
        longRun = true;
        break;
      }
    }
    if (!longRun && end < b) {
      let k = end;
      while (k > start + max / 2 && !isSpace(text.charCodeAt(k - 1))) k--;
      if (k > start + max / 2) end = k;
    }
    out.push([start, end]);
    start = end;
  }
  return out;
}

/** A parsed sentence of more than `max` tokens, as consecutive pieces of at most `max` (cut after a comma or semicolon when there is one in the second half). */
function splitTokens(s: Sentence, text: string, max: number): Sentence[] {
  if (s.tokens.length <= max) return [s];
  const out: Sentence[] = [];
  for (let i = 0; i < s.tokens.length; ) {
    let j = Math.min(s.tokens.length, i + max);
    if (j < s.tokens.length) {
      let k = j;
      while (k > i + max / 2 && !/^[,;]$/.test(s.tokens[k - 1]!.text)) k--;
      if (k > i + max / 2) j = k;
    }
    const tokens = s.tokens.slice(i, j);
    const start = tokens[0]!.start;
    const end = tokens.at(-1)!.end;
    out.push({ text: text.slice(start, end), start, end, tokens });
    i = j;
  }
  return out;
}

/**
 * Sentences of a text, each with its offsets and tokens (POS, lemma, entity type,
 * offsets). A sentence longer than the limits allow is read as consecutive chunks of
 * bounded size (counted in `report.sentences_split`), so the work is linear in the text.
 */
export function sentences(text: string, limits: Pick<ExtractLimits, 'maxSentenceTokens' | 'maxTokenChars'> = DEFAULT_LIMITS, report?: LimitsReport): Sentence[] {
  const out: Sentence[] = [];
  for (const [a0, b0] of sentenceSpans(text)) {
    const chunks = chunkSpans(text, a0, b0, limits);
    let split = chunks.length > 1;
    for (const [a, b] of chunks) {
      const chunk = text.slice(a, b);
      for (const parsed of parse(chunk)) {
        const pieces = splitTokens(parsed, chunk, limits.maxSentenceTokens);
        if (pieces.length > 1) split = true;
        for (const s of pieces) {
          out.push({ ...s, start: s.start + a, end: s.end + a, tokens: s.tokens.map((t) => ({ ...t, start: t.start + a, end: t.end + a })) });
        }
      }
    }
    if (report && split) report.sentences_split++;
  }
  return out;
}

function parse(text: string): Sentence[] {
  const n = instance();
  const its = n.its;
  parseStats.calls++;
  parseStats.chars += text.length;
  parseStats.largest = Math.max(parseStats.largest, text.length);
  const doc = n.readDoc(text);
  const all = doc.tokens();
  const entityOf = new Map<number, string>();
  doc.entities().each((e: ItemEntity) => {
    const [a, b] = e.out(its.span) as unknown as [number, number];
    for (let i = a; i <= b; i++) entityOf.set(i, e.out(its.type) as string);
  });
  const out: Sentence[] = [];
  let cursor = 0;
  doc.sentences().each((s: ItemSentence) => {
    const [a, b] = s.out(its.span) as unknown as [number, number];
    const tokens: Token[] = [];
    for (let i = a; i <= b; i++) {
      const t = all.itemAt(i);
      const tt = t.out();
      // wink keeps token text verbatim; locate it after the previous token (within 64
      // characters: searching the whole rest of the text for each token is quadratic).
      const near = text.slice(cursor, cursor + 64 + tt.length).indexOf(tt);
      const at = near >= 0 && near < 64 ? cursor + near : -1;
      const start = at >= 0 ? at : cursor;
      const end = at >= 0 ? at + tt.length : cursor;
      cursor = end;
      tokens.push({
        text: tt,
        lower: tt.toLowerCase(),
        lemma: String(t.out(its.lemma as never)).toLowerCase(),
        pos: t.out(its.pos) as string,
        entity: entityOf.get(i),
        start,
        end,
      });
    }
    if (!tokens.length) return;
    const start = tokens[0]!.start;
    const end = tokens.at(-1)!.end;
    out.push({ text: text.slice(start, end), start, end, tokens });
  });
  return out;
}
