// Scope state compare-and-swap and the context log, against the real Postgres.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appendEvent, latestSeq, readSince, tail } from '../../../shared/store/context-log.ts';
import { getScope, setScopeMode } from '../../../shared/store/scopes.ts';
import { ensureScope } from '../../../shared/usecases/scopes.ts';
import { advanceState, readState } from '../../../shared/store/state.ts';
import { ScopeNotFoundError } from '../../../shared/store/db.ts';
import { freshDatabase, type TestDatabase } from '../../support/db.ts';

let db: TestDatabase;
beforeAll(async () => {
  db = await freshDatabase({ poolMax: 12 });
});
afterAll(async () => db?.drop());

describe('scopes', () => {
  it('ensureScope creates the scope and its state once', async () => {
    expect(await ensureScope(db.pool, null, { scope: 'sc-create' })).toEqual({ created: true });
    expect(await ensureScope(db.pool, null, { scope: 'sc-create' })).toEqual({ created: false });
    expect(await readState(db.pool, 'sc-create')).toMatchObject({ node: 'ContextIngested', epoch: 0 });
    await setScopeMode(db.pool, 'sc-create', 'MITL');
    expect((await getScope(db.pool, 'sc-create'))!.mode).toBe('MITL');
    await expect(ensureScope(db.pool, null, { scope: 'Bad Scope' })).rejects.toThrow(/scope must be/);
  });
});

describe('state machine advance (epoch compare-and-swap)', () => {
  it('advances and appends the transition in the same transaction', async () => {
    await ensureScope(db.pool, null, { scope: 'sc-adv' });
    const r = await advanceState(db.pool, { scope: 'sc-adv', from: 'ContextIngested', to: 'FactsExtracted', expectedEpoch: 0, source: 'executor', runId: 'r1' });
    expect(r).toMatchObject({ ok: true, replayed: false, state: { node: 'FactsExtracted', epoch: 1, runId: 'r1' } });
    const log = await readSince(db.pool, 'sc-adv', 0);
    expect(log).toHaveLength(1);
    expect(log[0]).toMatchObject({ kind: 'state_transition', source: 'executor', payload: { from: 'ContextIngested', to: 'FactsExtracted', epoch: 1 } });
    expect(r.ok && r.seq).toBe(log[0]!.seq);
  });

  it('two concurrent advances from the same epoch: exactly one wins', async () => {
    await ensureScope(db.pool, null, { scope: 'sc-race' });
    for (let round = 0; round < 5; round++) {
      const st = (await readState(db.pool, 'sc-race'))!;
      const from = st.node;
      const to = ({ ContextIngested: 'FactsExtracted', FactsExtracted: 'DriftChecked', DriftChecked: 'ContextIngested' } as const)[from];
      const results = await Promise.all(
        Array.from({ length: 8 }, (_, i) => advanceState(db.pool, { scope: 'sc-race', from, to, expectedEpoch: st.epoch, source: `executor-${i}` } as never)),
      );
      expect(results.filter((r) => r.ok)).toHaveLength(1);
      expect(results.filter((r) => !r.ok).every((r) => !r.ok && r.reason === 'lost_race')).toBe(true);
    }
    const st = (await readState(db.pool, 'sc-race'))!;
    expect(st.epoch).toBe(5);
    const transitions = await readSince(db.pool, 'sc-race', 0, { kinds: ['state_transition'] });
    expect(transitions.map((t) => t.payload.epoch)).toEqual([1, 2, 3, 4, 5]); // one entry per won advance
  });

  it('reports wrong node, no scope, and refuses a non-edge', async () => {
    await ensureScope(db.pool, null, { scope: 'sc-wrong' });
    const r = await advanceState(db.pool, { scope: 'sc-wrong', from: 'FactsExtracted', to: 'DriftChecked', expectedEpoch: 0, source: 'x' });
    expect(r).toMatchObject({ ok: false, reason: 'wrong_node', current: { node: 'ContextIngested' } });
    expect(await advanceState(db.pool, { scope: 'nope', from: 'ContextIngested', to: 'FactsExtracted', expectedEpoch: 0, source: 'x' })).toEqual({ ok: false, reason: 'no_scope' });
    await expect(advanceState(db.pool, { scope: 'sc-wrong', from: 'ContextIngested', to: 'DriftChecked', expectedEpoch: 0, source: 'x' } as never)).rejects.toThrow(/not an edge/);
    expect(await readSince(db.pool, 'sc-wrong', 0)).toEqual([]);
  });

  it('a redelivered approved action replays instead of failing as a lost race', async () => {
    await ensureScope(db.pool, null, { scope: 'sc-replay' });
    const a = { scope: 'sc-replay', from: 'ContextIngested', to: 'FactsExtracted', expectedEpoch: 0, source: 'executor', messageId: 'act-1' } as const;
    const first = await advanceState(db.pool, a);
    const again = await advanceState(db.pool, a);
    expect(first).toMatchObject({ ok: true, replayed: false });
    expect(again).toMatchObject({ ok: true, replayed: true, state: { epoch: 1 } });
    expect(again.ok && first.ok && again.seq === first.seq).toBe(true);
    expect((await readState(db.pool, 'sc-replay'))!.epoch).toBe(1);
  });
});

describe('context log', () => {
  it('concurrent appends get gap-free, unique seqs; reads since a cursor', async () => {
    await ensureScope(db.pool, null, { scope: 'sc-log' });
    const seqs = await Promise.all(Array.from({ length: 40 }, (_, i) => appendEvent(db.pool, { scope: 'sc-log', kind: 'context_doc', source: 'api', payload: { i } })));
    expect(seqs.map((s) => s.seq).sort((a, b) => a - b)).toEqual(Array.from({ length: 40 }, (_, i) => i + 1));
    expect(await latestSeq(db.pool, 'sc-log')).toBe(40);
    const page = await readSince(db.pool, 'sc-log', 35);
    expect(page.map((e) => e.seq)).toEqual([36, 37, 38, 39, 40]);
    expect((await tail(db.pool, 'sc-log', 3)).map((e) => e.seq)).toEqual([38, 39, 40]);
    expect(await readSince(db.pool, 'sc-log', 0, { limit: 2 })).toHaveLength(2);
  });

  it('an append with a message id is idempotent, also under concurrency', async () => {
    await ensureScope(db.pool, null, { scope: 'sc-idem' });
    const all = await Promise.all(Array.from({ length: 6 }, () => appendEvent(db.pool, { scope: 'sc-idem', kind: 'context_doc', source: 'api', messageId: 'm-1', payload: {} })));
    expect(new Set(all.map((r) => r.seq))).toEqual(new Set([1]));
    expect(all.filter((r) => !r.duplicate)).toHaveLength(1);
    expect(await latestSeq(db.pool, 'sc-idem')).toBe(1); // no seq burnt by the duplicates
    const other = await appendEvent(db.pool, { scope: 'sc-idem', kind: 'resolution', source: 'api', messageId: 'm-1', payload: {} });
    expect(other).toEqual({ seq: 2, duplicate: false }); // same message, another kind
  });

  it('rejects an unknown scope and a malformed kind; the table refuses updates and deletes', async () => {
    await expect(appendEvent(db.pool, { scope: 'ghost', kind: 'context_doc', source: 'api' })).rejects.toBeInstanceOf(ScopeNotFoundError);
    await expect(appendEvent(db.pool, { scope: 'sc-log', kind: 'Bad Kind', source: 'api' })).rejects.toThrow(/kind/);
    await expect(db.pool.query(`UPDATE context_log SET kind = 'x' WHERE scope_id = 'sc-log'`)).rejects.toThrow(/append-only/);
    await expect(db.pool.query(`DELETE FROM context_log WHERE scope_id = 'sc-log'`)).rejects.toThrow(/append-only/);
  });

  it('an append touches scope activity unless it is maintenance', async () => {
    await ensureScope(db.pool, null, { scope: 'sc-act' });
    await db.pool.query(`UPDATE scopes SET last_activity_at = now() - interval '3 days' WHERE scope_id = 'sc-act'`);
    await appendEvent(db.pool, { scope: 'sc-act', kind: 'wal.note', source: 'x', touchActivity: false });
    expect((await getScope(db.pool, 'sc-act'))!.lastActivityAt.getTime()).toBeLessThan(Date.now() - 2 * 86_400_000);
    await appendEvent(db.pool, { scope: 'sc-act', kind: 'context_doc', source: 'api' });
    expect((await getScope(db.pool, 'sc-act'))!.lastActivityAt.getTime()).toBeGreaterThan(Date.now() - 60_000);
  });
});
