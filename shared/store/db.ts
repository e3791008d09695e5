// Shared helpers for the store adapters: run in the caller's transaction when given
// one, or open one on the pool; typed errors for missing rows.
import { Pool } from '@neondatabase/serverless';
import { withTransaction, type Queryable, type Tx } from '../adapters/db.ts';
import { PermanentError } from '../contract/errors.ts';

export type { Pool, Queryable, Tx };

/** Something that opens its own transactions: the GuardedPool of shared/runtime/guarded.ts. */
export interface Transactional extends Queryable {
  transaction<T>(fn: (tx: Tx) => Promise<T>): Promise<T>;
}

/**
 * What a store function runs on: a pool (plain or the runtime's GuardedPool), or a
 * client already inside a transaction (the caller owns BEGIN/COMMIT).
 */
export type Db = Pool | Tx | Transactional;

export function inTransaction<T>(db: Db, fn: (tx: Tx) => Promise<T>): Promise<T> {
  if (db instanceof Pool) return withTransaction(db, fn);
  if ('transaction' in db && typeof db.transaction === 'function') return (db as Transactional).transaction(fn);
  return fn(db as Tx);
}

export class ScopeNotFoundError extends PermanentError {
  constructor(readonly scope: string) {
    super('scope_not_found', `scope "${scope}" does not exist`);
  }
}

/** Postgres bigint arrives as a string; counts and seqs here stay far below 2^53. */
export const num = (v: unknown): number => (v === null || v === undefined ? 0 : typeof v === 'number' ? v : Number(v));

export const toVectorLiteral = (v: readonly number[]): string => {
  for (const x of v) if (!Number.isFinite(x)) throw new PermanentError('invalid_embedding', 'embedding contains a non-finite number');
  return `[${v.join(',')}]`;
};
