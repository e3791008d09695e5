// The facts step on pathological documents (issue 10), against the real services: each
// completes, or fails with a named permanent error, within the extraction deadline;
// the extraction runs in the worker pool, so this process's parser is never used and
// its event loop keeps turning; a document the step cannot read is still recorded in
// the context log before it is dead-lettered, and a replay with a larger cap reads it.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { step as facts } from '../../../functions/facts/index.ts';
import { resetBreakers } from '../../../shared/adapters/resilience.ts';
import { parseStats } from '../../../shared/extract/nlp.ts';
import { closeExtractPool } from '../../../shared/extract/pool.ts';
import { queryNodes } from '../../../shared/store/graph.ts';
import { binaryGarbage, longSentence, longToken, numbersWall, ticksDuring } from '../../support/pathological.ts';
import { envelope, invoke, logEntries, run, swarmTestEnv, type SwarmTestEnv } from '../../support/swarm.ts';

let t: SwarmTestEnv;
beforeAll(async () => {
  t = await swarmTestEnv();
});
afterAll(async () => {
  await closeExtractPool();
  await t?.close();
});
beforeEach(() => resetBreakers());

const docOf = (id: string, text: string) => ({ doc_id: id, title: id, text, kind: 'document', submitted_by: 'test' });

/** Ticks of the event loop while p runs. */

describe('facts on pathological documents', () => {
  it.each([
    ['a 180 KB single sentence', longSentence()],
    ['a 40 KB wall of numbers', numbersWall()],
    ['one 100 KB token', longToken()],
    ['binary garbage', binaryGarbage()],
  ])('%s: extracted in the worker pool, caps counted, event loop turning', async (name, text) => {
    const scope = await t.scope('fl-');
    // A small claims cap keeps the graph writes of the test short; the extraction is the subject here.
    const deps = t.depsWith({}, { EXTRACT_MAX_CLAIMS: 40 });
    const calls = parseStats.calls;
    const { value: res, ticks } = await ticksDuring(run(facts, deps, envelope('doc.submitted', scope, docOf(name.replace(/\W+/g, '-'), text))));
    expect(parseStats.calls).toBe(calls);
    expect(ticks).toBeGreaterThan(20);
    const result = res.result as { claims: number; extraction_limits?: { sentences_split: number; claims_dropped: number } };
    expect(result.claims).toBeLessThanOrEqual(40);
    expect(result.extraction_limits?.sentences_split).toBeGreaterThan(0);
    expect(await logEntries(t, scope, ['context_doc'])).toHaveLength(1);
  });

  it('too large: recorded in the context log, then permanent document_too_large naming the limit; a replay with a larger cap reads it', async () => {
    const scope = await t.scope('fl-');
    const msg = envelope('doc.submitted', scope, docOf('big', numbersWall(5_000)));
    const size = String(msg.payload.text).trim().length;
    const res = await invoke(facts, t.depsWith({}, { EXTRACT_MAX_DOCUMENT_CHARS: 1_000 }), msg);
    expect(res).toMatchObject({ ok: false, error: { class: 'permanent', code: 'document_too_large' } });
    expect(!res.ok && res.error.message).toContain(`${size} characters, more than the 1000`);
    const [entry, ...more] = await logEntries(t, scope, ['context_doc']);
    expect(more).toEqual([]);
    expect(entry).toMatchObject({ message_id: msg.id, payload: { doc_id: 'big', extraction_error: { code: 'document_too_large' } } });
    expect(entry!.payload.text).toBe(String(msg.payload.text).trim());
    expect(await queryNodes(t.guarded, scope)).toEqual([]);

    // The dead letter replayed once the limit is raised: read, and still one log entry.
    const again = await run(facts, t.deps, { ...msg, attempt: 2 });
    expect(again.result).toMatchObject({ doc_id: 'big' });
    expect(await logEntries(t, scope, ['context_doc'])).toHaveLength(1);
  });

  it('past the extraction deadline: the worker is stopped, permanent extraction_timeout, the document recorded', async () => {
    const scope = await t.scope('fl-');
    const msg = envelope('doc.submitted', scope, docOf('slow', longSentence()));
    const { value: res, ticks } = await ticksDuring(invoke(facts, t.depsWith({}, { EXTRACT_TIMEOUT_MS: 1 }), msg));
    expect(res).toMatchObject({ ok: false, error: { class: 'permanent', code: 'extraction_timeout' } });
    expect(!res.ok && res.error.message).toContain('longer than 1 ms (EXTRACT_TIMEOUT_MS)');
    expect(ticks).toBeGreaterThan(20);
    expect(await logEntries(t, scope, ['context_doc'])).toMatchObject([{ message_id: msg.id, payload: { doc_id: 'slow', extraction_error: { code: 'extraction_timeout' } } }]);
  });
});
