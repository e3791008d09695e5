// The grouping decorator over the in-memory inbox: what is grouped with what, the
// group bound, what bypasses grouping, and the member-by-member fallback.
import { describe, expect, it } from 'vitest';
import { GroupingIdempotencyStore, groupedInbox } from '../../../shared/runtime/inbox/grouping.ts';
import { MemoryIdempotencyStore, NO_DATABASE } from '../../../shared/runtime/inbox/memory.ts';
import type { ClaimOutcome, CommitRequest } from '../../../shared/runtime/inbox/store.ts';

type Tx = typeof NO_DATABASE;

/** A memory store that records each batch call's size. */
class Recording extends MemoryIdempotencyStore {
  calls: string[] = [];
  failNextCommitMany = false;
  override async claimMany(reqs: Parameters<MemoryIdempotencyStore['claimMany']>[0]) {
    this.calls.push(`claimMany:${reqs.length}`);
    // The memory store's claimMany claims one by one (synchronously here): not calls of ours.
    this.#inBatch = true;
    const out = super.claimMany(reqs);
    this.#inBatch = false;
    return out;
  }
  #inBatch = false;
  override async claim(...a: Parameters<MemoryIdempotencyStore['claim']>) {
    if (!this.#inBatch) this.calls.push('claim');
    return super.claim(...a);
  }
  override async commitMany(reqs: Parameters<MemoryIdempotencyStore['commitMany']>[0]) {
    this.calls.push(`commitMany:${reqs.map((r) => r.key.messageId).join(',')}`);
    if (this.failNextCommitMany) {
      this.failNextCommitMany = false;
      throw new Error('deadlock detected');
    }
    return super.commitMany(reqs);
  }
  override async commit<T>(req: CommitRequest<Tx, T>) {
    this.calls.push(`commit:${req.key.messageId}`);
    return super.commit(req);
  }
}

const key = (id: string, scope = 'acme', consumer = 'fn') => ({ consumer, messageId: id, scope });
const tokenOf = (c: ClaimOutcome) => (c.kind === 'claimed' ? c.token : '');
const req = (id: string, token: string | undefined, extra: Partial<CommitRequest<Tx, unknown>> = {}): CommitRequest<Tx, unknown> => ({
  key: key(id, extra.key?.scope),
  token,
  writes: async () => id,
  toStored: (v) => ({ emit: [], result: v }),
  ttlMs: 60_000,
  ...extra,
});

describe('grouping inbox decorator', () => {
  it('groups the claims of one turn into one call, at most maxGroup each; the same message twice goes alone', async () => {
    const inner = new Recording();
    const store = new GroupingIdempotencyStore<Tx>(inner, 3);
    // a, b, c fill a group (flushed at once); the second a goes alone; d is a group of one (a plain claim).
    const outs = await Promise.all(['a', 'b', 'a', 'c', 'd'].map((id) => store.claim(key(id), 1_000)));
    expect(inner.calls.sort()).toEqual(['claim', 'claim', 'claimMany:3'].sort());
    expect(outs.map((o) => o.kind).sort()).toEqual(['claimed', 'claimed', 'claimed', 'claimed', 'in_progress']);
  });

  it('commits members in scope order, one group per consumer; optimistic and opted-out commits go alone', async () => {
    const inner = new Recording();
    const store = new GroupingIdempotencyStore<Tx>(inner, 64);
    const ids = ['z', 'y', 'x', 'w', 'v'];
    const claims = await Promise.all(ids.map((id) => store.claim(key(id), 1_000)));
    inner.calls = [];
    const scopes: Record<string, string> = { z: 's1', y: 's0', x: 's1', w: 's0', v: 's0' };
    const outs = await Promise.all([
      ...ids.slice(0, 4).map((id, i) => store.commit(req(id, tokenOf(claims[i]!), { key: key(id, scopes[id]) }))),
      store.commit(req('v', tokenOf(claims[4]!), { group: false })),
      store.commit(req('opt', undefined)),
    ]);
    expect(outs.every((o) => o.committed)).toBe(true);
    expect(inner.calls.sort()).toEqual(['commit:opt', 'commit:v', 'commitMany:w,y,x,z'].sort());
  });

  it('a group that fails as a whole is committed member by member', async () => {
    const inner = new Recording();
    const store = new GroupingIdempotencyStore<Tx>(inner, 64);
    const claims = await Promise.all(['p', 'q'].map((id) => store.claim(key(id), 1_000)));
    inner.calls = [];
    inner.failNextCommitMany = true;
    const outs = await Promise.all(['p', 'q'].map((id, i) => store.commit(req(id, tokenOf(claims[i]!)))));
    expect(outs.map((o) => o.committed)).toEqual([true, true]);
    expect(inner.calls.sort()).toEqual(['commit:p', 'commit:q', 'commitMany:p,q']);
    expect(store.stats.fallbacks).toBe(1);
  });

  it('INBOX_GROUP_MAX=1, or a store that cannot batch, means no decorator', () => {
    const inner = new MemoryIdempotencyStore();
    expect(groupedInbox(inner, 1)).toBe(inner);
    expect(groupedInbox(inner, 64)).toBeInstanceOf(GroupingIdempotencyStore);
    const single = { get: inner.get, claim: inner.claim, renew: inner.renew, release: inner.release, commit: inner.commit, cleanup: inner.cleanup };
    expect(groupedInbox(single, 64)).toBe(single);
  });
});
