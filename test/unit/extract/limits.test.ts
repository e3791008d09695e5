// Bounded work per document: the chunking that keeps wink-nlp's input small, the caps
// on figures and claims, the size check. Complexity is asserted by counting the
// parser's work (characters handed to it, the largest piece), not by timing it.
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PermanentError } from '../../../shared/contract/errors.ts';
import { envSchema } from '../../../shared/config.ts';
import { definedAcronyms, extractFacts } from '../../../shared/extract/extract.ts';
import { readSentence } from '../../../shared/extract/figures.ts';
import { assertDocumentSize, chunkChars, DEFAULT_LIMITS, limitsFromEnv, type LimitsReport } from '../../../shared/extract/limits.ts';
import { chunkSpans, parseStats, sentences } from '../../../shared/extract/nlp.ts';
import { binaryGarbage, longSentence, longToken, numbersWall } from '../../support/pathological.ts';

const SCENARIOS = new URL('../../../infra/demo/scenarios/', import.meta.url).pathname;
const report = (): LimitsReport => ({ sentences_split: 0, figures_ignored: 0, claims_dropped: 0 });
const longestRun = (s: string) => Math.max(0, ...s.split(/\s+/).map((w) => w.length));

/** The parser's work during fn: calls, characters read, the largest single input. */
function parserWork(fn: () => void) {
  const before = { ...parseStats };
  parseStats.largest = 0;
  fn();
  const out = { calls: parseStats.calls - before.calls, chars: parseStats.chars - before.chars, largest: parseStats.largest };
  parseStats.largest = Math.max(before.largest, parseStats.largest);
  return out;
}

describe('chunkSpans', () => {
  it('an ordinary sentence is one piece', () => {
    const text = 'Revenue for Q3 2026 was $4.5M, up from $3.9M a year earlier.';
    expect(chunkSpans(text, 0, text.length)).toEqual([[0, text.length]]);
  });

  it.each([
    ['a 180 KB sentence', longSentence()],
    ['one 100 KB token', longToken()],
    ['binary garbage', binaryGarbage()],
  ])('%s: contiguous pieces covering it, none longer than the chunk size, no run of non-space characters over the token cap', (_, text) => {
    const pieces = chunkSpans(text, 0, text.length);
    expect(pieces.length).toBeGreaterThan(1);
    expect(pieces[0]![0]).toBe(0);
    expect(pieces.at(-1)![1]).toBe(text.length);
    for (let i = 1; i < pieces.length; i++) expect(pieces[i]![0]).toBe(pieces[i - 1]![1]);
    for (const [a, b] of pieces) {
      expect(b - a).toBeGreaterThan(0);
      expect(b - a).toBeLessThanOrEqual(chunkChars(DEFAULT_LIMITS));
      expect(longestRun(text.slice(a, b))).toBeLessThanOrEqual(DEFAULT_LIMITS.maxTokenChars);
    }
  });

  it('cuts after a space when there is one in the second half of the window', () => {
    const text = 'word '.repeat(2_000);
    for (const [, b] of chunkSpans(text, 0, text.length).slice(0, -1)) expect(text[b - 1]).toBe(' ');
  });
});

describe('sentences: the parser reads every character once, in bounded pieces', () => {
  it.each([
    ['a 180 KB sentence', longSentence()],
    ['a 40 KB wall of numbers', numbersWall()],
    ['one 100 KB token', longToken()],
  ])('%s', (_, text) => {
    const r = report();
    let out: ReturnType<typeof sentences> = [];
    const work = parserWork(() => (out = sentences(text, DEFAULT_LIMITS, r)));
    // Linear: the parser is handed the text once (not once per sentence, quantity or token)...
    expect(work.chars).toBeLessThanOrEqual(text.length);
    // ...in pieces no larger than the chunk size: wink-nlp's cost per piece is bounded.
    expect(work.largest).toBeLessThanOrEqual(chunkChars(DEFAULT_LIMITS));
    expect(work.calls).toBeGreaterThanOrEqual(Math.floor(text.length / chunkChars(DEFAULT_LIMITS)));
    // The figure reader sees sentences of at most maxSentenceTokens tokens, with document offsets.
    for (const s of out) {
      expect(s.tokens.length).toBeLessThanOrEqual(DEFAULT_LIMITS.maxSentenceTokens);
      expect(text.slice(s.start, s.end)).toBe(s.text);
    }
    expect(r.sentences_split).toBeGreaterThan(0);
  });

  it('a parsed sentence over the token cap is read as pieces of at most that many tokens', () => {
    const text = Array.from({ length: 90 }, (_, i) => `item${i}, ${i}`).join(' ') + '.';
    const r = report();
    const out = sentences(text, { maxSentenceTokens: 40, maxTokenChars: 100 }, r);
    expect(out.length).toBeGreaterThan(1);
    for (const s of out) expect(s.tokens.length).toBeLessThanOrEqual(40);
    expect(out.flatMap((s) => s.tokens.map((t) => t.text)).join(' ')).toContain('item89');
    expect(r.sentences_split).toBe(1);
  });
});

describe('caps', () => {
  it('figures beyond the per-sentence cap are ignored and counted', () => {
    const text = `The counts were ${Array.from({ length: 30 }, (_, i) => `${i + 10} trucks`).join(', ')}.`;
    const s = sentences(text)[0]!;
    const r = report();
    const reading = readSentence(s, { offset: 0, maxFigures: 24, report: r });
    expect(r.figures_ignored).toBe(6);
    expect(reading.figures.every((f) => f.value.value < 34)).toBe(true);
    expect(readSentence(s, { offset: 0, maxFigures: 100 }).figures.some((f) => f.value.value === 39)).toBe(true);
  });

  it('claims beyond the per-document cap are dropped and counted', () => {
    const text = 'Report\n\n' + Array.from({ length: 10 }, (_, i) => `Site ${String.fromCharCode(65 + i)} recorded ${100 + i} patients in March 2026.`).join(' ');
    const all = extractFacts(text);
    expect(all.claims).toHaveLength(10);
    expect(all.limits).toBeUndefined();
    const capped = extractFacts(text, { ...DEFAULT_LIMITS, maxClaims: 4 });
    expect(capped.claims).toEqual(all.claims.slice(0, 4));
    expect(capped.limits).toEqual({ sentences_split: 0, figures_ignored: 0, claims_dropped: 6 });
  });

  it('the pathological documents are read, with what the caps left out counted', () => {
    for (const text of [longSentence(), numbersWall(), longToken(), binaryGarbage()]) {
      const f = extractFacts(text);
      expect(f.claims.length).toBeLessThanOrEqual(DEFAULT_LIMITS.maxClaims);
      expect(f.limits?.sentences_split ?? 0).toBeGreaterThan(0);
    }
    expect(extractFacts(longSentence()).limits!.claims_dropped).toBeGreaterThan(0);
    expect(extractFacts(numbersWall()).limits!.figures_ignored).toBeGreaterThan(0);
  });

  it('no scenario document reaches a cap: their extraction is what it was', () => {
    for (const dir of readdirSync(SCENARIOS, { withFileTypes: true }).filter((d) => d.isDirectory())) {
      for (const f of readdirSync(join(SCENARIOS, dir.name)).filter((f) => /\.(txt|md)$/.test(f))) {
        expect(extractFacts(readFileSync(join(SCENARIOS, dir.name, f), 'utf8')).limits, `${dir.name}/${f}`).toBeUndefined();
      }
    }
  });

  it('an acronym defined after a 100 KB token is still found', () => {
    expect(definedAcronyms(`${'x'.repeat(100_000)} and annual recurring revenue (ARR) grew`)).toEqual({ ARR: 'annual recurring revenue' });
    expect(definedAcronyms('x,annual recurring revenue (ARR)')).toEqual({ ARR: 'annual recurring revenue' });
  });
});

describe('document size', () => {
  it('above the cap: permanent document_too_large naming the limit and the size', () => {
    expect(() => assertDocumentSize('a'.repeat(1_000), { maxDocumentChars: 1_000 })).not.toThrow();
    try {
      assertDocumentSize('a'.repeat(1_001), { maxDocumentChars: 1_000 });
      expect.fail('no error');
    } catch (err) {
      expect(err).toBeInstanceOf(PermanentError);
      expect(err).toMatchObject({ code: 'document_too_large' });
      expect((err as Error).message).toMatch(/1001 characters, more than the 1000/);
    }
  });

  it('EXTRACT_* settings: defaults are DEFAULT_LIMITS; the size cap may not exceed what the API accepts', () => {
    expect(limitsFromEnv(envSchema.parse({}))).toEqual(DEFAULT_LIMITS);
    expect(envSchema.safeParse({ EXTRACT_MAX_DOCUMENT_CHARS: '200001' }).success).toBe(false);
    expect(envSchema.parse({ EXTRACT_MAX_SENTENCE_TOKENS: '80' }).EXTRACT_MAX_SENTENCE_TOKENS).toBe(80);
  });
});
