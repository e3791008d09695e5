// A burst into one scope is merged by one facts run (issue 11): documents read while the
// scope's lock is held are staged, and the next holder digests them all, in arrival
// order. The result must be what the same documents give one at a time: the same
// context log, facts versions, graph (claims, figures, goals, contradictions and their
// status) and, run through the whole swarm, the same outcome — with one proposal
// instead of one per document. Also: a backlog larger than a batch, and a redelivery of
// a message whose document another run digested.
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { step as facts } from '../../../functions/facts/index.ts';
import { SWARM_STEPS } from '../../../functions/registry.ts';
import { closeExtractPool } from '../../../shared/extract/pool.ts';
import type { Envelope } from '../../../shared/contract/envelope.ts';
import type { StepSuccess } from '../../../shared/contract/result.ts';
import { extractFacts } from '../../../shared/extract/extract.ts';
import { stageDocument } from '../../../shared/store/facts-queue.ts';
import { readState } from '../../../shared/store/state.ts';
import { waitFor } from '../../faults/support/env.ts';
import { acme, count, envelope, invoke, rows, run, settle, swarmTestEnv, types, type SwarmTestEnv } from '../../support/swarm.ts';

let t: SwarmTestEnv;
beforeAll(async () => {
  t = await swarmTestEnv();
});
afterAll(async () => {
  await closeExtractPool();
  await t?.close();
});

const NORTHGATE = join(import.meta.dirname, '../../../infra/demo/scenarios/northgate');
/** Acme's five documents, then Northgate's four: contradictions, revisions, goals, risks. */
function burst(scope: string): Envelope[] {
  const acmeDocs = ([1, 2, 3, 4, 5] as const).map((n) => envelope('doc.submitted', scope, acme(n)));
  const northgate = readdirSync(NORTHGATE)
    .filter((f) => /^\d/.test(f))
    .sort()
    .map((f) => {
      const text = readFileSync(join(NORTHGATE, f), 'utf8');
      return envelope('doc.submitted', scope, { doc_id: `ng-${f.slice(0, 2)}`, title: text.split('\n')[0]!.replace(/^#+\s*/, ''), text, kind: 'document', submitted_by: 'test' });
    });
  return [...acmeDocs, ...northgate];
}

/** What the scope knows, without ids or times: comparable across scopes. */
async function knowledge(scope: string) {
  const log = await rows<{ kind: string; doc_id: string }>(t, `SELECT kind, payload->>'doc_id' AS doc_id FROM context_log WHERE scope_id = $1 AND kind IN ('context_doc', 'resolution') ORDER BY seq`, [scope]);
  // (hash and version name the scope too, so they differ between scopes by construction)
  const versions = await rows<{ doc_id: string }>(t, `SELECT doc_id FROM facts_documents WHERE scope_id = $1 ORDER BY seq`, [scope]);
  const nodes = await rows<{ kind: string; content: string; status: string; metric: string | null; value: unknown; confidence: number; docs: unknown }>(
    t,
    `SELECT kind, content, status, metric, value, round(confidence::numeric, 6)::float8 AS confidence, source_ref->'docs' AS docs
       FROM graph_nodes WHERE scope_id = $1 AND superseded_at IS NULL ORDER BY kind, content, metric NULLS FIRST, value::text`,
    [scope],
  );
  const edges = await rows<{ kind: string; a: string; b: string; status: string }>(
    t,
    `SELECT e.kind, least(s.content, d.content) AS a, greatest(s.content, d.content) AS b, e.status
       FROM graph_edges e JOIN graph_nodes s ON s.node_id = e.source_id AND s.superseded_at IS NULL
                          JOIN graph_nodes d ON d.node_id = e.target_id AND d.superseded_at IS NULL
      WHERE e.scope_id = $1 AND e.superseded_at IS NULL ORDER BY 1, 2, 3, 4`,
    [scope],
  );
  const figures = await rows<{ doc_id: string; metric: string; subject: string }>(t, `SELECT doc_id, metric, subject FROM figures WHERE scope_id = $1 ORDER BY 1, 2, 3`, [scope]);
  return { log, versions, nodes, edges, figures };
}

const facts_ = (res: StepSuccess[]) => res.flatMap((r) => r.emit.filter((e) => e.type === 'proposal.submitted'));

describe('facts digest', () => {
  it('a burst staged while the scope is locked is merged by one run: same knowledge and outcome as one at a time, one proposal', async () => {
    const alone = await t.scope('dg-alone-');
    const together = await t.scope('dg-burst-');

    // One at a time.
    const aloneRes: StepSuccess[] = [];
    for (const m of burst(alone)) aloneRes.push(await run(facts, t.deps, m));
    expect(aloneRes.every((r) => (r.result as { digested: number }).digested === 1)).toBe(true);

    // Together: hold the scope's facts lock (as a long digest would), let every document
    // be read and staged in order, then let go.
    const holder = await t.db.pool.connect();
    const msgs = burst(together);
    const pending: Promise<Awaited<ReturnType<typeof invoke>>>[] = [];
    try {
      await holder.query('BEGIN');
      await holder.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`facts:${together}`]);
      for (const [i, m] of msgs.entries()) {
        pending.push(invoke(facts, t.deps, m));
        await waitFor('staged', async () => (await count(t, `SELECT count(*) AS n FROM facts_queue WHERE scope_id = $1`, [together])) === i + 1, { timeoutMs: 30_000 });
      }
      // Nothing merged while the lock is held.
      expect(await count(t, `SELECT count(*) AS n FROM context_log WHERE scope_id = $1 AND kind = 'context_doc'`, [together])).toBe(0);
    } finally {
      await holder.query('COMMIT');
      holder.release();
    }
    const togetherRes = (await Promise.all(pending)).map((r) => {
      if (!r.ok) throw new Error(`${r.error.code}: ${r.error.message}`);
      return r;
    });

    // One run merged all nine; the others found their document done.
    const digested = togetherRes.map((r) => (r.result as { digested: number }).digested).sort((a, b) => b - a);
    expect(digested).toEqual([msgs.length, ...Array(msgs.length - 1).fill(0)]);
    expect(togetherRes.every((r) => types(r).includes('facts.extracted'))).toBe(true);
    expect(facts_(togetherRes)).toHaveLength(1);
    expect(facts_(aloneRes)).toHaveLength(msgs.length);
    // facts.extracted carries the same counts for each document either way.
    const counts = (res: StepSuccess[]) => res.map((r) => r.emit.find((e) => e.type === 'facts.extracted')!.payload).map(({ facts_sha: _s, ...p }) => p);
    expect(counts(togetherRes)).toEqual(counts(aloneRes));

    // The same knowledge: log, facts index order, every current node and edge, figures.
    const [a, b] = [await knowledge(alone), await knowledge(together)];
    expect(b.edges.filter((e) => e.kind === 'contradicts').length).toBeGreaterThan(0);
    expect(b).toEqual(a);
    expect(await count(t, `SELECT count(*) AS n FROM facts_queue WHERE scope_id = ANY($1)`, [[alone, together]])).toBe(0);

    // And the same outcome through the whole swarm (the duplicate proposals of the one-at-a-time run are refused as stale).
    await settle(SWARM_STEPS, t.deps, facts_(aloneRes), { skip: ['status'], max: 400 });
    await settle(SWARM_STEPS, t.deps, facts_(togetherRes), { skip: ['status'], max: 400 });
    const outcome = async (scope: string) => ({
      state: (await readState(t.guarded, scope))?.node,
      finality: (await rows<{ outcome: string; reasons: unknown }>(t, `SELECT outcome, reasons FROM finality_decisions WHERE scope_id = $1 ORDER BY id`, [scope])),
      reviews: (await rows<{ kind: string; status: string }>(t, `SELECT kind, status FROM review_queue WHERE scope_id = $1 ORDER BY created_at`, [scope])),
    });
    const [oa, ob] = [await outcome(alone), await outcome(together)];
    expect(ob.state).not.toBe('ContextIngested');
    expect(ob.finality.length + ob.reviews.length).toBeGreaterThan(0);
    expect(ob).toEqual(oa);
  });

  it('a backlog larger than a batch is digested in batches of their own, oldest first; every message completes once', async () => {
    const scope = await t.scope('dg-backlog-');
    const small = t.depsWith({}, { FACTS_DIGEST_BATCH: 2 });
    const holder = await t.db.pool.connect();
    const msgs = burst(scope).slice(0, 7);
    const pending: Promise<Awaited<ReturnType<typeof invoke>>>[] = [];
    try {
      await holder.query('BEGIN');
      await holder.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`facts:${scope}`]);
      for (const [i, m] of msgs.entries()) {
        pending.push(invoke(facts, small, m));
        await waitFor('staged', async () => (await count(t, `SELECT count(*) AS n FROM facts_queue WHERE scope_id = $1`, [scope])) === i + 1, { timeoutMs: 30_000 });
      }
    } finally {
      await holder.query('COMMIT');
      holder.release();
    }
    const res = await Promise.all(pending);
    expect(res.map((r) => r.ok)).toEqual(msgs.map(() => true));
    const total = res.reduce((n, r) => n + (r.ok ? (r.result as { digested: number }).digested : 0), 0);
    // Documents merged by a backlog batch are counted by no message's final commit: at most all of them.
    expect(total).toBeLessThanOrEqual(msgs.length);
    const log = await rows<{ doc_id: string; message_id: string }>(t, `SELECT payload->>'doc_id' AS doc_id, message_id FROM context_log WHERE scope_id = $1 AND kind = 'context_doc' ORDER BY seq`, [scope]);
    expect(log.map((l) => l.message_id)).toEqual(msgs.map((m) => m.id));
    expect(await count(t, `SELECT count(*) AS n FROM facts_queue WHERE scope_id = $1`, [scope])).toBe(0);

    // A redelivery of any of them is answered from the inbox: nothing merged twice.
    const again = await run(facts, small, msgs[3]!);
    expect(types(again)).toEqual(types(res[3]!.ok ? res[3]! : again));
    expect(await count(t, `SELECT count(*) AS n FROM context_log WHERE scope_id = $1 AND kind = 'context_doc'`, [scope])).toBe(msgs.length);
  });

  it('a document staged by a message that never completed is merged by the next run; its redelivery emits its own facts.extracted, nothing twice', async () => {
    const scope = await t.scope('dg-orphan-');
    const [m1, m2] = burst(scope);
    // m2 was read and staged, then its process died before its commit (no vectors: the worker was down).
    const p2 = m2!.payload as { doc_id: string; title: string; text: string; kind: string; submitted_by: string };
    const f2 = { ...extractFacts(p2.text), title: p2.title };
    await stageDocument(t.guarded, scope, m2!.id, {
      doc: p2, tier: 'fallback', fallbackReason: 'no_model', facts: f2 as unknown as Record<string, unknown>, terms: f2.acronyms, vectors: [], embedError: 'worker down',
      stored: { key: `scopes/${scope}/facts/docs/acme-2.${'0'.repeat(64)}.json`, hash: '0'.repeat(64), bytes: 1 },
    });
    const r1 = await run(facts, t.deps, m1!);
    expect((r1.result as { digested: number }).digested).toBe(2);
    expect(await count(t, `SELECT count(*) AS n FROM facts_queue WHERE scope_id = $1 AND digested_at IS NOT NULL`, [scope])).toBe(1);

    const r2 = await run(facts, t.deps, m2!);
    expect((r2.result as { digested: number }).digested).toBe(0);
    expect(r2.emit.find((e) => e.type === 'facts.extracted')!.payload).toMatchObject({ doc_id: 'acme-2', unembedded: expect.any(Number) });
    const log = await rows<{ doc_id: string }>(t, `SELECT payload->>'doc_id' AS doc_id FROM context_log WHERE scope_id = $1 AND kind = 'context_doc' ORDER BY seq`, [scope]);
    // Arrival order: the orphan was staged first.
    expect(log.map((l) => l.doc_id)).toEqual(['acme-2', 'acme-1']);
    expect(await count(t, `SELECT count(*) AS n FROM facts_queue WHERE scope_id = $1`, [scope])).toBe(0);
  });
});
