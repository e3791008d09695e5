// In-memory inbox for unit tests and for functions with no database. Same
// semantics as the Postgres store within one process; nothing survives a restart.
import { randomUUID } from 'node:crypto';
import type { BatchIdempotencyStore, ClaimOutcome, ClaimRequest, CommitOutcome, CommitRequest, InboxKey, Settled, StoredResult } from './store.ts';

type Rec =
  | { status: 'in_progress'; token: string; until: number }
  | { status: 'completed'; stored: StoredResult; expires: number };

/** The transaction handle the memory store passes to writes: there is no database behind it. */
export const NO_DATABASE = Object.freeze({
  query(): never {
    throw new Error('this step runs with the in-memory inbox: there is no database transaction');
  },
});

export class MemoryIdempotencyStore implements BatchIdempotencyStore<typeof NO_DATABASE> {
  readonly records = new Map<string, Rec>();
  constructor(private readonly now: () => number = Date.now) {}

  #k(key: InboxKey) {
    return `${key.consumer}\u0000${key.messageId}`;
  }

  async get(key: InboxKey) {
    const r = this.records.get(this.#k(key));
    return r?.status === 'completed' ? r.stored : undefined;
  }

  async claim(key: InboxKey, inProgressMs: number): Promise<ClaimOutcome> {
    const r = this.records.get(this.#k(key));
    if (r?.status === 'completed') return { kind: 'completed', stored: r.stored };
    if (r?.status === 'in_progress' && r.until >= this.now()) return { kind: 'in_progress', until: new Date(r.until) };
    const token = randomUUID();
    this.records.set(this.#k(key), { status: 'in_progress', token, until: this.now() + inProgressMs });
    return { kind: 'claimed', token };
  }

  async renew(key: InboxKey, token: string, leaseMs: number) {
    const r = this.records.get(this.#k(key));
    if (r?.status !== 'in_progress' || r.token !== token) return false;
    r.until = this.now() + leaseMs;
    return true;
  }

  async release(key: InboxKey, token: string) {
    const r = this.records.get(this.#k(key));
    if (r?.status === 'in_progress' && r.token === token) this.records.delete(this.#k(key));
  }

  async commit<T>(req: CommitRequest<typeof NO_DATABASE, T>): Promise<CommitOutcome<T>> {
    const k = this.#k(req.key);
    const owned = () => {
      const r = this.records.get(k);
      if (req.token === undefined) return r === undefined || (r.status === 'in_progress' && r.until < this.now());
      return r?.status === 'in_progress' && r.token === req.token;
    };
    const lost = (): CommitOutcome<T> => {
      const r = this.records.get(k);
      if (r?.status === 'completed') return { committed: false, stored: r.stored };
      throw new Error(`claim on ${req.key.messageId} lost and no completed result to return`);
    };
    if (!owned()) return lost();
    const value = req.writes ? await req.writes(NO_DATABASE) : undefined;
    if (!owned()) return lost(); // someone completed it while the writes ran: "roll back"
    const stored = req.toStored(value);
    this.records.set(k, { status: 'completed', stored, expires: this.now() + req.ttlMs });
    return { committed: true, value: value as T, stored };
  }

  async claimMany(reqs: readonly ClaimRequest[]): Promise<Settled<ClaimOutcome>[]> {
    return Promise.all(reqs.map((r) => settle(this.claim(r.key, r.inProgressMs))));
  }

  /** All or nothing, like the Postgres store's: records change only once every member's writes returned. */
  async commitMany(reqs: readonly CommitRequest<typeof NO_DATABASE, unknown>[]): Promise<Settled<CommitOutcome<unknown>>[]> {
    const out: Settled<CommitOutcome<unknown>>[] = new Array(reqs.length);
    const done = new Map<number, { value: unknown; stored: StoredResult }>();
    const owned = (r: CommitRequest<typeof NO_DATABASE, unknown>) => {
      const rec = this.records.get(this.#k(r.key));
      return rec?.status === 'in_progress' && rec.token === r.token;
    };
    for (const [n, r] of reqs.entries()) {
      if (!owned(r)) continue;
      if (!r.writes) {
        try {
          done.set(n, { value: undefined, stored: r.toStored(undefined) });
        } catch (error) {
          out[n] = { ok: false, error };
        }
        continue;
      }
      const value = await r.writes(NO_DATABASE);
      done.set(n, { value, stored: r.toStored(value) });
    }
    for (const [n, r] of reqs.entries()) {
      if (out[n]) continue;
      const mine = done.get(n);
      if (mine && owned(r)) {
        this.records.set(this.#k(r.key), { status: 'completed', stored: mine.stored, expires: this.now() + r.ttlMs });
        out[n] = { ok: true, value: { committed: true, ...mine } };
      } else {
        const rec = this.records.get(this.#k(r.key));
        out[n] =
          rec?.status === 'completed'
            ? { ok: true, value: { committed: false, stored: rec.stored } }
            : { ok: false, error: new Error(`claim on ${r.key.messageId} lost and no completed result to return`) };
      }
    }
    return out;
  }

  async cleanup() {
    let n = 0;
    for (const [k, r] of this.records) {
      if (r.status === 'completed' && r.expires < this.now()) {
        this.records.delete(k);
        n++;
      }
    }
    return n;
  }
}

const settle = <T>(p: Promise<T>): Promise<Settled<T>> =>
  p.then(
    (value) => ({ ok: true as const, value }),
    (error: unknown) => ({ ok: false as const, error }),
  );
