// The idempotency inbox: message id → stored result, in the style of Powertools
// for AWS Lambda's idempotency utility (a persistence interface, pluggable stores,
// records that are in progress with an expiry, or completed with an expiry).
//
// What makes it effectively-once is `commit`: the record is marked completed in
// the SAME transaction as the step's writes, so either both happen or neither.
import type { Envelope } from '../../contract/envelope.ts';

export interface InboxKey {
  /** The function (one inbox namespace per consumer). */
  consumer: string;
  messageId: string;
  scope?: string;
}

/** What a completed record holds, and what a redelivery gets back. */
export interface StoredResult {
  emit: Envelope[];
  result?: unknown;
}

export type ClaimOutcome =
  | { kind: 'claimed'; token: string }
  | { kind: 'completed'; stored: StoredResult }
  | { kind: 'in_progress'; until: Date };

export type CommitOutcome<T> =
  | { committed: true; value: T; stored: StoredResult }
  /** Someone else completed the message first (a lost or expired claim): their result. */
  | { committed: false; stored: StoredResult };

export interface CommitRequest<Tx, T> {
  key: InboxKey;
  /** The claim token; undefined for an optimistic commit (no claim was taken). */
  token: string | undefined;
  /** The step's writes, run inside the transaction; undefined when there are none. */
  writes: ((tx: Tx) => Promise<T>) | undefined;
  /** The result to store, from what `writes` returned. */
  toStored(value: T | undefined): StoredResult;
  ttlMs: number;
  /**
   * false: never commit in a group with other messages (grouping.ts). For steps
   * whose writes run long or hold locks others wait on; default true.
   */
  group?: boolean;
}

/** One SQL statement (INSERT / UPDATE / DELETE, possibly with its own WITH clause). */
export interface Statement {
  text: string;
  values?: unknown[];
}

export interface StatementCommitRequest {
  key: InboxKey;
  statement: Statement;
  stored: StoredResult;
  ttlMs: number;
}

export interface IdempotencyStore<Tx = unknown> {
  /** The stored result of a completed message, if there is one. */
  get(key: InboxKey): Promise<StoredResult | undefined>;
  /** Take a new claim (a lease of `inProgressMs`), or take over one whose lease ran out. */
  claim(key: InboxKey, inProgressMs: number): Promise<ClaimOutcome>;
  /** Extend a claim's lease to `leaseMs` from now; false if the claim is no longer held under `token`. */
  renew(key: InboxKey, token: string, leaseMs: number): Promise<boolean>;
  /** Give a claim back after a failure, so the retry can run at once. */
  release(key: InboxKey, token: string): Promise<void>;
  /** Writes and completion in one transaction; see CommitOutcome. */
  commit<T>(req: CommitRequest<Tx, T>): Promise<CommitOutcome<T>>;
  /**
   * Optimistic completion together with ONE write statement, atomically, in a
   * single round trip (stores that can; the runtime falls back to commit()).
   */
  commitStatement?(req: StatementCommitRequest): Promise<CommitOutcome<undefined>>;
  /** Delete expired records; returns how many. */
  cleanup(): Promise<number>;
}

/** One member's outcome in a group: what commit() would have returned, or thrown. */
export type Settled<T> = { ok: true; value: T } | { ok: false; error: unknown };

/**
 * A store that can do several claims or commits in one round trip / one
 * transaction; the grouping decorator (grouping.ts) uses it.
 */
export interface BatchIdempotencyStore<Tx = unknown> extends IdempotencyStore<Tx> {
  /** claim() for each key (keys distinct), as one statement; outcomes in order. */
  claimMany(reqs: readonly ClaimRequest[]): Promise<Settled<ClaimOutcome>[]>;
  /**
   * commit() for each claimed request (tokens set, keys distinct) in ONE
   * transaction, members' writes in the given order. All or nothing: it either
   * resolves with every member's outcome (a member whose claim was lost gets
   * committed: false, or its error) or throws having committed nothing.
   */
  commitMany(reqs: readonly CommitRequest<Tx, unknown>[]): Promise<Settled<CommitOutcome<unknown>>[]>;
}

export interface ClaimRequest {
  key: InboxKey;
  inProgressMs: number;
}

export const isBatchStore = <Tx>(s: IdempotencyStore<Tx>): s is BatchIdempotencyStore<Tx> =>
  typeof (s as Partial<BatchIdempotencyStore<Tx>>).claimMany === 'function' && typeof (s as Partial<BatchIdempotencyStore<Tx>>).commitMany === 'function';

/** Raised inside a commit when the claim is no longer ours; the runtime turns it into a replay. */
export class ClaimLostError extends Error {
  override name = 'ClaimLostError';
  constructor(readonly stored: StoredResult) {
    super('the claim on this message was lost; another run completed it');
  }
}
