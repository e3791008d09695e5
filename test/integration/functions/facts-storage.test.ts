// How the facts step stores a scope's facts (migration 009), against real Postgres and
// MinIO: one immutable object per document, so the bytes under a scope's prefix grow
// linearly with its documents (the whole-scope artifact rewritten per document grew
// with their square: 118 MB for 499 documents of ~150 bytes); no shared object to
// compare-and-swap, so concurrent documents of one scope all succeed (before, one lost
// the race on every retry and was dead-lettered with facts_artifact_conflict); a retry
// or a resubmission writes the same object again; a scope that still has a facts
// artifact of the old layout is read without it.
import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { step as drift } from '../../../functions/drift/index.ts';
import { step as facts } from '../../../functions/facts/index.ts';
import { createS3 } from '../../../shared/adapters/s3.ts';
import { resetBreakers } from '../../../shared/adapters/resilience.ts';
import { factsDocumentKey, factsHead, loadFactsSnapshot } from '../../../shared/store/facts-documents.ts';
import { advanceState } from '../../../shared/store/state.ts';
import { nextFactsVersion } from '../../../shared/domain/facts-doc.ts';
import { saveMemory } from '../../../shared/store/memory.ts';
import { emitted, envelope, invoke, rows, run, swarmTestEnv, type SwarmTestEnv } from '../../support/swarm.ts';

let t: SwarmTestEnv;
beforeAll(async () => {
  t = await swarmTestEnv();
});
afterAll(async () => t?.close());
beforeEach(() => resetBreakers());

/** A short document (~150 bytes), different for each i. */
const small = (scope: string, i: number) =>
  envelope('doc.submitted', scope, {
    doc_id: `doc-${i}`,
    title: `Site report ${i}`,
    text: `Site report ${i}\n\nDepot ${i} handled ${1000 + i * 7} pallets in March 2026. The depot ${i} manager expects ${20 + i} new hires by June 2026.`,
    submitted_by: 'test',
  });

/** Every object under the scope's prefix, with its size. */
async function objectsOf(scope: string): Promise<{ key: string; size: number }[]> {
  const s3 = createS3(t.env);
  const out: { key: string; size: number }[] = [];
  let token: string | undefined;
  do {
    const page = await s3.send(new ListObjectsV2Command({ Bucket: t.bucket, Prefix: `scopes/${scope}/`, ContinuationToken: token }));
    for (const o of page.Contents ?? []) out.push({ key: o.Key!, size: o.Size ?? 0 });
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
  return out;
}

const indexRows = (scope: string) =>
  rows<{ doc_id: string; key: string; hash: string; seq: string; version: string; bytes: number }>(t, 'SELECT doc_id, key, hash, seq, version, bytes FROM facts_documents WHERE scope_id = $1 ORDER BY seq', [scope]);

describe('facts storage', () => {
  it('N documents into one scope: N objects, and the bytes under the prefix are at most N × the largest one (linear, no manifest)', async () => {
    const scope = await t.scope('lin-');
    const N = 40;
    const after: number[] = [];
    for (let i = 1; i <= N; i++) {
      await run(facts, t.deps, small(scope, i));
      if (i === N / 2 || i === N) after.push((await objectsOf(scope)).reduce((s, o) => s + o.size, 0));
    }
    const objects = await objectsOf(scope);
    expect(objects).toHaveLength(N);
    const largest = Math.max(...objects.map((o) => o.size));
    const total = objects.reduce((s, o) => s + o.size, 0);
    // The old layout wrote a whole-scope version per document: about N²/2 × one document's facts.
    expect(total).toBeLessThanOrEqual(N * largest);
    expect(largest).toBeLessThan(8_000);
    // Twice the documents, about twice the bytes (each one's object is the same size give or take its numbers).
    expect(after[1]! / after[0]!).toBeLessThan(2.2);

    // Postgres lists them: one row each, keys derived from scope, doc id and content hash, the bytes it wrote.
    const idx = await indexRows(scope);
    expect(idx.map((r) => r.doc_id)).toEqual(Array.from({ length: N }, (_, k) => `doc-${k + 1}`));
    expect(idx.every((r) => r.key === factsDocumentKey(scope, r.doc_id, r.hash))).toBe(true);
    expect(new Set(objects.map((o) => o.key))).toEqual(new Set(idx.map((r) => r.key)));
    expect(idx.reduce((s, r) => s + r.bytes, 0)).toBe(total);
    const snap = await loadFactsSnapshot(t.guarded, t.deps.factsObjects, scope);
    expect(snap!.order).toEqual(idx.map((r) => r.doc_id));
    expect(snap!.documents['doc-7']).toMatchObject({ title: 'Site report 7', kind: 'document', tier: 'fallback' });
    expect(snap!.documents['doc-7']!.facts.claims.length).toBeGreaterThan(0);
  }, 120_000); // 40 documents one after another: ~10 s on a quiet machine, 30 s at load 6

  it('20 documents of one scope in parallel: every invocation succeeds, each document is in the facts once, the versions form one chain', async () => {
    const scope = await t.scope('par-');
    const msgs = Array.from({ length: 20 }, (_, i) => small(scope, i + 1));
    const results = await Promise.all(msgs.map((m) => invoke(facts, t.deps, m)));
    const failed = results.flatMap((r) => (r.ok ? [] : [`${r.error.code}: ${r.error.message}`]));
    expect(failed).toEqual([]);

    const idx = await indexRows(scope);
    expect(idx.map((r) => r.doc_id).sort()).toEqual(msgs.map((m) => String(m.payload.doc_id)).sort());
    // Each row's version chains from the row before it: no writer built on a version another replaced.
    let prev: string | null = null;
    for (const r of idx) {
      expect(r.version).toBe(nextFactsVersion(prev, r.doc_id, r.hash));
      prev = r.version;
    }
    expect((await factsHead(t.guarded, scope))!.version).toBe(prev);
    // facts.extracted names the version its document made: all different, the last one the head.
    const versions = results.map((r) => (r.ok ? String(emitted(r, 'facts.extracted').payload.facts_sha) : ''));
    expect(new Set(versions).size).toBe(20);
    expect(versions).toContain(prev);
    expect(await objectsOf(scope)).toHaveLength(20);
  });

  it('a retry writes the same object; the same document again adds nothing; a changed one is a new object in the same place of the order', async () => {
    const scope = await t.scope('idem-');
    const objects = t.deps.factsObjects;
    const first = await run(facts, t.deps, small(scope, 1));
    await run(facts, t.deps, small(scope, 2));
    const [row1] = await indexRows(scope);

    // The S3 write on its own, again (a step that crashed before its commit and runs again): same key, same bytes.
    const snap = (await loadFactsSnapshot(t.guarded, objects, scope))!;
    const again = await objects.put(scope, 'doc-1', snap.documents['doc-1']!);
    expect(again).toMatchObject({ key: row1!.key, hash: row1!.hash, bytes: row1!.bytes });
    expect(await objectsOf(scope)).toHaveLength(2);

    // doc-1 resubmitted unchanged (another message): no new row, the version stays.
    const head = (await factsHead(t.guarded, scope))!;
    const resent = await run(facts, t.deps, small(scope, 1));
    expect(emitted(resent, 'facts.extracted').payload.facts_sha).toBe(head.version);
    expect(await indexRows(scope)).toHaveLength(2);
    expect(emitted(first, 'facts.extracted').payload.facts_sha).not.toBe(head.version);

    // doc-1 changed: a new object and row; the snapshot has the new facts, doc-1 still first.
    const changed = envelope('doc.submitted', scope, { doc_id: 'doc-1', title: 'Site report 1 (corrected)', text: 'Site report 1\n\nDepot 1 handled 1,500 pallets in March 2026.', submitted_by: 'test' });
    await run(facts, t.deps, changed);
    expect(await indexRows(scope)).toHaveLength(3);
    expect(await objectsOf(scope)).toHaveLength(3);
    const now = (await loadFactsSnapshot(t.guarded, objects, scope))!;
    expect(now.order).toEqual(['doc-1', 'doc-2']);
    expect(now.documents['doc-1']!.title).toBe('Site report 1 (corrected)');
    // The earlier version is still readable as it was (drift compares against it).
    expect((await loadFactsSnapshot(t.guarded, objects, scope, head.version))!.documents['doc-1']!.title).toBe('Site report 1');
  });

  it('a scope with a facts artifact of the old layout (and drift remembering its sha): facts and drift run, ignoring it', async () => {
    const scope = await t.scope('old-');
    const legacy = { version: 1, scope, order: ['old-doc'], documents: { 'old-doc': { title: 'Old', kind: 'document', tier: 'fallback', facts: { claims: [], goals: [], risks: [] } } } };
    const pub = await t.deps.artifacts.publish(scope, 'facts', legacy, { writer: 'facts', expected: null });
    expect(pub.ok).toBe(true);
    await saveMemory(t.guarded, scope, 'drift', { lastHash: pub.ok ? pub.pointer.sha256 : null, activated: true });

    await run(facts, t.deps, small(scope, 1));
    await advanceState(t.guarded, { scope, from: 'ContextIngested', to: 'FactsExtracted', expectedEpoch: 0, source: 'test' });
    const res = await run(drift, t.deps, envelope('state.advanced', scope, { from: 'ContextIngested', to: 'FactsExtracted', epoch: 1 }));
    // The remembered sha is not a version of the index: the facts read as all new.
    expect(res.result).toMatchObject({ activated: true });
    const d = await t.deps.artifacts.latest<{ facts_sha256: string; notes: string[] }>(scope, 'drift');
    expect(d!.document.facts_sha256).toBe((await factsHead(t.guarded, scope))!.version);
    expect(d!.document.notes).toContain('initial snapshot');
  });
});

describe('S3 unreachable', () => {
  it('a document is not lost: the facts step fails as an outage (retried for the outage budget, not dead-lettered), writes nothing, and succeeds once S3 is back', async () => {
    const scope = await t.scope('s3o-');
    const doc = small(scope, 1);
    const down = t.depsWith({}, { S3_ENDPOINT: 'http://127.0.0.1:9' });
    const res = await invoke(facts, down, doc);
    expect(res).toMatchObject({ ok: false, error: { class: 'transient', kind: 'outage' } });
    expect(await rows(t, `SELECT 1 FROM facts_documents WHERE scope_id = $1`, [scope])).toEqual([]);
    resetBreakers();
    expect((await run(facts, t.deps, { ...doc, attempt: 2 })).emit.map((e) => e.type)).toContain('facts.extracted');
    expect(await rows(t, `SELECT doc_id FROM facts_documents WHERE scope_id = $1`, [scope])).toEqual([{ doc_id: 'doc-1' }]);
  });
});
