// The offline extractor on a 10,000-word document (the scenario documents repeated with
// varied figures, so it reads like many filings of one case): time per document, words
// and figures per second. Baseline: wink-nlp alone reading the same text (the parse
// every reading needs); `x_target` = 1 s / p50 (the target is one such document in < 1 s).
// Pathological documents (issue 10) through the worker pool, as the facts step runs
// them: time per document, and the largest event-loop delay of this thread meanwhile
// (it must stay small: the extraction is off the loop); `in_process_ms` is the same
// extraction on this thread, for comparison.
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import winkNLP from 'wink-nlp';
import model from 'wink-eng-lite-web-model';
import { extractFacts } from '../../../shared/extract/extract.ts';
import { DEFAULT_LIMITS } from '../../../shared/extract/limits.ts';
import { closeExtractPool, extractInWorker } from '../../../shared/extract/pool.ts';
import { binaryGarbage, longSentence, longToken, numbersWall } from '../../support/pathological.ts';
import { latencyRows, percentile, timeCalls, type BenchRow, type BenchSuite } from '../harness.ts';

const SCENARIOS = new URL('../../../infra/demo/scenarios/', import.meta.url).pathname;

/** About `words` words: every scenario document in turn, numbers nudged per copy so no two copies are alike. */
export function longDocument(words: number): string {
  const docs = readdirSync(SCENARIOS, { withFileTypes: true })
    .filter((d) => d.isDirectory())
    .flatMap((d) => readdirSync(join(SCENARIOS, d.name)).filter((f) => /^\d.*\.(txt|md)$/.test(f)).map((f) => readFileSync(join(SCENARIOS, d.name, f), 'utf8')));
  const parts = ['CASE FILE — COMBINED DOCUMENTS', ''];
  let count = 0;
  for (let copy = 0; count < words; copy++) {
    for (const d of docs) {
      const body = d.split('\n').slice(1).join('\n').replace(/\b(\d{2,3})(?=[ %])/g, (n) => String(Number(n) + copy));
      parts.push(`Section ${copy + 1}`, '', body);
      count += body.split(/\s+/).length;
      if (count >= words) break;
    }
  }
  return parts.join('\n');
}

export const suite: BenchSuite = {
  name: 'extract',
  description: 'offline extraction of a 10,000-word document: ms per document, words/s, figures/s; baseline: wink-nlp parse alone; pathological documents in the worker pool: ms and event-loop max delay',
  async run(): Promise<BenchRow[]> {
    const text = longDocument(10_000);
    const words = text.split(/\s+/).length;
    const nlp = winkNLP(model);
    let figures = 0;
    const parse = await timeCalls(5, () => nlp.readDoc(text).tokens().length(), 1);
    const extract = await timeCalls(5, () => {
      figures = extractFacts(text).claims.filter((c) => c.statement).length;
    }, 1);
    const p50 = (xs: number[]) => percentile([...xs].sort((a, b) => a - b), 50);
    const pathological: BenchRow[] = [];
    const opts = { workers: 1, timeoutMs: 120_000 };
    await extractInWorker('Warm-up\n\nRevenue was $4.5M.', DEFAULT_LIMITS, opts);
    for (const [name, doc] of [['180kb-sentence', longSentence()], ['40kb-numbers', numbersWall()], ['100kb-token', longToken()], ['binary', binaryGarbage(100_000)]] as const) {
      const delay = monitorEventLoopDelay({ resolution: 10 });
      delay.enable();
      const t0 = performance.now();
      await extractInWorker(doc, DEFAULT_LIMITS, opts);
      const ms = performance.now() - t0;
      delay.disable();
      const t1 = performance.now();
      extractFacts(doc);
      const inProcess = performance.now() - t1;
      pathological.push(
        { case: `pathological-${name}`, metric: 'worker_ms', value: ms, unit: 'ms' },
        { case: `pathological-${name}`, metric: 'event_loop_max_delay', value: delay.max / 1e6, unit: 'ms' },
        { case: `pathological-${name}`, metric: 'in_process_ms', value: inProcess, unit: 'ms' },
      );
    }
    await closeExtractPool();
    return [
      { case: 'document', metric: 'words', value: words, unit: 'words' },
      { case: 'document', metric: 'figures', value: figures, unit: 'figures' },
      ...latencyRows('baseline-wink-parse', parse),
      ...latencyRows('extract-10k-words', extract),
      { case: 'extract-10k-words', metric: 'words_per_s', value: words / (p50(extract) / 1000), unit: 'words/s' },
      { case: 'extract-10k-words', metric: 'x_parse', value: p50(extract) / p50(parse), unit: 'x the parse alone' },
      { case: 'extract-10k-words', metric: 'x_target', value: 1000 / p50(extract), unit: 'x (1 s / p50)' },
      ...pathological,
    ];
  },
};
