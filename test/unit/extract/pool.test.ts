// The offline extractor in a worker thread: the same result as on the calling thread,
// this thread's parser untouched and its event loop free while a pathological
// document is read, and a permanent extraction_timeout when the deadline passes.
import { readFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { PermanentError } from '../../../shared/contract/errors.ts';
import { extractFacts } from '../../../shared/extract/extract.ts';
import { DEFAULT_LIMITS } from '../../../shared/extract/limits.ts';
import { parseStats } from '../../../shared/extract/nlp.ts';
import { closeExtractPool, extractInWorker, extractOffline, workerAvailable } from '../../../shared/extract/pool.ts';
import { longSentence, ticksDuring } from '../../support/pathological.ts';

const ACME = new URL('../../../infra/demo/scenarios/acme/02-strategy-memo.txt', import.meta.url).pathname;
const opts = { workers: 1, timeoutMs: 60_000 };
afterAll(() => closeExtractPool());

/** Ticks of the event loop while p runs. */

describe('extraction pool', () => {
  it('the worker (./worker.ts through tsx) reads a document as extractFacts does', async () => {
    expect(workerAvailable(undefined)).toBe(true);
    const text = readFileSync(ACME, 'utf8');
    expect(await extractInWorker(text, DEFAULT_LIMITS, opts)).toEqual(extractFacts(text));
    // No worker file where one is named: the extractor runs on this thread instead.
    expect(await extractOffline(text, DEFAULT_LIMITS, { ...opts, workerFile: '/nonexistent/extract-worker.mjs' })).toEqual(extractFacts(text));
  });

  it('a 180 KB sentence is read off this thread: its parser is not used and its event loop keeps turning', async () => {
    const calls = parseStats.calls;
    const { value, ticks } = await ticksDuring(extractInWorker(longSentence(), DEFAULT_LIMITS, opts));
    expect(parseStats.calls).toBe(calls);
    expect(value.limits?.sentences_split).toBe(1);
    expect(ticks).toBeGreaterThan(20);
  });

  it('past the deadline the worker is stopped: permanent extraction_timeout naming the limit; the pool keeps working', async () => {
    const err = await extractInWorker(longSentence(), DEFAULT_LIMITS, { ...opts, timeoutMs: 1 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PermanentError);
    expect(err).toMatchObject({ code: 'extraction_timeout' });
    expect((err as Error).message).toMatch(/longer than 1 ms \(EXTRACT_TIMEOUT_MS\)/);
    expect((await extractInWorker('Acme\n\nRevenue was $4.5M in Q3 2026.', DEFAULT_LIMITS, opts)).claims).toHaveLength(1);
  });

  it('the caller giving up stops the extraction with the caller\'s reason', async () => {
    const ctl = new AbortController();
    const p = extractInWorker(longSentence(), DEFAULT_LIMITS, { ...opts, signal: ctl.signal });
    const reason = new Error('step deadline');
    ctl.abort(reason);
    await expect(p).rejects.toBe(reason);
  });
});
