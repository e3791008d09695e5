// Grouped claims and group commit, as a decorator over a store that can batch
// (BatchIdempotencyStore: Postgres, memory). Round trips dominate the claim
// path's cost (claim · BEGIN+mark · writes · result+COMMIT per message), and the
// messages of one fetched batch reach the inbox together: the bridge hands them
// to their steps in one event-loop turn, the claims resolve together, and fast
// steps commit in the same turn again. So:
//
//   claims issued in one turn go out as ONE statement (claimMany);
//   claimed commits of one consumer issued in one turn run in ONE transaction
//   (commitMany: mark all · each member's writes · all results + COMMIT).
//
// A group is flushed on setImmediate (after the turn's I/O callbacks and
// microtasks) or as soon as it holds `maxGroup` members. If a group commit fails
// as a whole (a member's writes threw, a deadlock, a serialization failure, the
// connection), nothing of it was committed, and every member is committed again
// on its own, writes included: one bad member fails alone and the others
// commit once. Commits are never grouped across consumers (a slow step's writes
// would hold up another's), nor when the request says group: false.
//
// Lock order: a group runs its members' writes sorted by (scope, message id), so
// two groups taking per-scope locks (advisory locks, a scope's event sequence)
// take them in the same order and cannot deadlock on them. A deadlock on other
// locks is detected by Postgres (deadlock_timeout), aborts one group, and that
// group's members commit one by one, as they would have without grouping.
import { isBatchStore, type BatchIdempotencyStore, type ClaimOutcome, type CommitOutcome, type CommitRequest, type IdempotencyStore, type InboxKey, type Settled, type StatementCommitRequest, type StoredResult } from './store.ts';

interface Waiter<Req, Out> {
  req: Req;
  resolve(v: Out): void;
  reject(e: unknown): void;
}
type ClaimWaiter = Waiter<{ key: InboxKey; inProgressMs: number }, ClaimOutcome>;
type CommitWaiter<Tx> = Waiter<CommitRequest<Tx, unknown>, CommitOutcome<unknown>>;

/** Counters for tests and tuning: how many statements carried how many members. */
export interface GroupingStats {
  claimGroups: number;
  claimsGrouped: number;
  commitGroups: number;
  commitsGrouped: number;
  /** Group commits that failed as a whole and were redone member by member. */
  fallbacks: number;
}

const keyOf = (k: InboxKey) => `${k.consumer}\u0000${k.messageId}`;
const byScopeThenId = <Tx>(a: CommitWaiter<Tx>, b: CommitWaiter<Tx>) => {
  const x = a.req.key.scope ?? '';
  const y = b.req.key.scope ?? '';
  return x < y ? -1 : x > y ? 1 : a.req.key.messageId < b.req.key.messageId ? -1 : a.req.key.messageId > b.req.key.messageId ? 1 : 0;
};

export class GroupingIdempotencyStore<Tx> implements IdempotencyStore<Tx> {
  readonly stats: GroupingStats = { claimGroups: 0, claimsGrouped: 0, commitGroups: 0, commitsGrouped: 0, fallbacks: 0 };
  #claims = new Map<string, ClaimWaiter>();
  /** consumer → its open commit group. */
  #commits = new Map<string, Map<string, CommitWaiter<Tx>>>();
  #scheduled = false;
  readonly commitStatement?: (req: StatementCommitRequest) => Promise<CommitOutcome<undefined>>;

  constructor(
    private readonly inner: BatchIdempotencyStore<Tx>,
    /** Most members of one group; 1 turns grouping off. */
    private readonly maxGroup: number,
  ) {
    if (inner.commitStatement) this.commitStatement = (req) => inner.commitStatement!(req);
  }

  get(key: InboxKey): Promise<StoredResult | undefined> {
    return this.inner.get(key);
  }
  renew(key: InboxKey, token: string, leaseMs: number): Promise<boolean> {
    return this.inner.renew(key, token, leaseMs);
  }
  release(key: InboxKey, token: string): Promise<void> {
    return this.inner.release(key, token);
  }
  cleanup(): Promise<number> {
    return this.inner.cleanup();
  }

  claim(key: InboxKey, inProgressMs: number): Promise<ClaimOutcome> {
    const k = keyOf(key);
    // The same message twice in one turn (a redelivery racing its first run): one
    // statement cannot touch a row twice, so the second goes alone and the two race as usual.
    if (this.maxGroup <= 1 || this.#claims.has(k)) return this.inner.claim(key, inProgressMs);
    return new Promise((resolve, reject) => {
      this.#claims.set(k, { req: { key, inProgressMs }, resolve, reject });
      if (this.#claims.size >= this.maxGroup) this.#flushClaims();
      else this.#schedule();
    });
  }

  commit<T>(req: CommitRequest<Tx, T>): Promise<CommitOutcome<T>> {
    // Optimistic commits (no token) keep their own path: their conflict is found
    // at the end, by an insert that would fail the whole group.
    if (this.maxGroup <= 1 || req.group === false || req.token === undefined) return this.inner.commit(req);
    const k = keyOf(req.key);
    let group = this.#commits.get(req.key.consumer);
    if (group?.has(k)) return this.inner.commit(req);
    if (!group) this.#commits.set(req.key.consumer, (group = new Map()));
    return new Promise<CommitOutcome<T>>((resolve, reject) => {
      group.set(k, { req: req as CommitRequest<Tx, unknown>, resolve: resolve as (v: CommitOutcome<unknown>) => void, reject });
      if (group.size >= this.maxGroup) this.#flushCommits(req.key.consumer);
      else this.#schedule();
    });
  }

  #schedule(): void {
    if (this.#scheduled) return;
    this.#scheduled = true;
    setImmediate(() => {
      this.#scheduled = false;
      this.#flushClaims();
      for (const consumer of [...this.#commits.keys()]) this.#flushCommits(consumer);
    });
  }

  #flushClaims(): void {
    const group = [...this.#claims.values()];
    this.#claims.clear();
    if (group.length === 0) return;
    if (group.length === 1) {
      const [w] = group;
      return void this.inner.claim(w!.req.key, w!.req.inProgressMs).then(w!.resolve, w!.reject);
    }
    this.stats.claimGroups++;
    this.stats.claimsGrouped += group.length;
    this.inner.claimMany(group.map((w) => w.req)).then(
      (outs) => group.forEach((w, i) => deliver(w, outs[i]!)),
      // The statement failed as a whole: nothing was claimed; each claims alone.
      () => group.forEach((w) => void this.inner.claim(w.req.key, w.req.inProgressMs).then(w.resolve, w.reject)),
    );
  }

  #flushCommits(consumer: string): void {
    const pending = this.#commits.get(consumer);
    this.#commits.delete(consumer);
    if (!pending || pending.size === 0) return;
    const group = [...pending.values()];
    if (group.length === 1) {
      const [w] = group;
      return void this.inner.commit(w!.req).then(w!.resolve, w!.reject);
    }
    group.sort(byScopeThenId);
    this.stats.commitGroups++;
    this.stats.commitsGrouped += group.length;
    this.inner.commitMany(group.map((w) => w.req)).then(
      (outs) => group.forEach((w, i) => deliver(w, outs[i]!)),
      () => {
        // Rolled back as a whole: each member again in its own transaction.
        this.stats.fallbacks++;
        for (const w of group) void this.inner.commit(w.req).then(w.resolve, w.reject);
      },
    );
  }
}

const deliver = <T>(w: { resolve(v: T): void; reject(e: unknown): void }, s: Settled<T>) => (s.ok ? w.resolve(s.value) : w.reject(s.error));

/** The store steps use: grouped when the store can batch and maxGroup > 1. */
export function groupedInbox<Tx>(inner: IdempotencyStore<Tx>, maxGroup: number): IdempotencyStore<Tx> {
  return maxGroup > 1 && isBatchStore(inner) ? new GroupingIdempotencyStore(inner, maxGroup) : inner;
}
