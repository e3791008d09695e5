// wink-nlp with its English lite model, which ships inside its npm package: the
// offline extractor needs no network and no key. Loaded once per process.
// Tokens carry character offsets into the text they were read from, so that every
// figure can point at the exact span of the document that states it.
import winkNLP, { type ItemEntity, type ItemSentence } from 'wink-nlp';
import model from 'wink-eng-lite-web-model';

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

/** Sentences of a text, each with its offsets and tokens (POS, lemma, entity type, offsets). */
export function sentences(text: string): Sentence[] {
  const out: Sentence[] = [];
  for (const [a, b] of sentenceSpans(text)) {
    for (const s of parse(text.slice(a, b))) {
      out.push({ ...s, start: s.start + a, end: s.end + a, tokens: s.tokens.map((t) => ({ ...t, start: t.start + a, end: t.end + a })) });
    }
  }
  return out;
}

function parse(text: string): Sentence[] {
  const n = instance();
  const its = n.its;
  const doc = n.readDoc(text);
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
      const t = doc.tokens().itemAt(i);
      const tt = t.out();
      // wink keeps token text verbatim; locate it after the previous token.
      const at = text.indexOf(tt, cursor);
      const start = at >= 0 && at - cursor < 64 ? at : cursor;
      const end = at >= 0 && at - cursor < 64 ? at + tt.length : cursor;
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
