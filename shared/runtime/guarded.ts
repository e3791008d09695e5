// Clients behind circuit breakers (V4) with retry and backoff (V1), from the
// cockatiel policies in shared/adapters/resilience.ts. One breaker per dependency
// and process ("postgres", "s3"; their settings are in BREAKERS there), so that
// while a dependency is down every call fails fast with a transient error, the
// bridge naks with backoff, and readiness reports the open breaker.
import type { S3Client } from '@aws-sdk/client-s3';
import type { Pool, PoolClient } from '@neondatabase/serverless';
import type { IPolicy } from 'cockatiel';
import { withClient, withTransaction, type Tx } from '../adapters/db.ts';
import { dependencyFailure, resilientPolicy, settingsLike, type ResilienceOptions } from '../adapters/resilience.ts';
import type { S3Sender } from '../adapters/s3.ts';

export { dependencyFailure };

// ------------------------------------------------------------------ Postgres

/**
 * The process's Postgres pool behind the "postgres" breaker: what Deps.db is. Not to be
 * confused with shared/store/db.ts's Db, which is whatever a store function runs on (a
 * pool, or a transaction's client handed down by ctx.commit).
 */
export interface GuardedPool {
  readonly pool: Pool;
  query<R extends Record<string, unknown> = Record<string, unknown>>(
    sql: string,
    params?: unknown[],
  ): Promise<{ rows: R[]; rowCount: number | null }>;
  /**
   * BEGIN, fn, COMMIT on one connection (withTransaction); ROLLBACK when fn throws.
   * Retried as a whole on a dependency failure: bodies must be safe to run again
   * after a rolled-back attempt (the inbox's claim token makes step commits so).
   */
  transaction<T>(fn: (tx: Tx) => Promise<T>): Promise<T>;
  /**
   * One pooled connection for fn, which manages its own transaction (the inbox
   * does, to save round trips). Released broken if fn throws or the connection
   * drops; retried as a whole like transaction().
   */
  session<T>(fn: (client: PoolClient) => Promise<T>): Promise<T>;
}

/** `opts` and `breaker`: a test's own breaker, with the "postgres" settings but for `opts`. */
export function guardPool(pool: Pool, opts?: ResilienceOptions, breaker = 'postgres'): GuardedPool {
  const policy: IPolicy = resilientPolicy(breaker, settingsLike('postgres', opts));
  return {
    pool,
    query: (sql, params) => policy.execute(() => pool.query(sql, params as unknown[])) as never,
    session: (fn) => policy.execute(() => withClient(pool, (client) => fn(client))),
    transaction: (fn) => policy.execute(() => withTransaction(pool, fn)),
  };
}

// ------------------------------------------------------------------ S3

export type { S3Sender };

/** `opts` and `breaker`: a test's own breaker, with the "s3" settings but for `opts`. */
export function guardS3(s3: S3Client, opts?: ResilienceOptions, breaker = 's3'): S3Sender {
  const policy = resilientPolicy(breaker, settingsLike('s3', opts));
  return { send: ((cmd: Parameters<S3Client['send']>[0]) => policy.execute(() => s3.send(cmd))) as S3Client['send'] };
}

// ------------------------------------------------------------------ any other client

/**
 * Route the named async methods of `target` through breaker `breaker` (a production
 * one, or one registered with registerBreaker); the rest pass through. For a client
 * this module does not know yet, e.g. a model as
 * `guardMethods('llm', model, ['doGenerate', 'doStream'])`: with the "llm" settings a
 * 30 s call is not retried in place, but an unreachable provider stops being called
 * until the half-open probe succeeds. (LLM steps use withLlm in shared/llm/run.ts,
 * which puts the same "llm" breaker in front of a fallback.)
 */
export function guardMethods<T extends object, K extends keyof T>(breaker: string, target: T, methods: readonly K[]): T {
  const policy = resilientPolicy(breaker);
  const wrapped = new Map<PropertyKey, unknown>();
  for (const m of methods) {
    const fn = target[m];
    if (typeof fn !== 'function') throw new TypeError(`${String(m)} is not a method`);
    wrapped.set(m, (...args: unknown[]) => policy.execute(() => (fn as (...a: unknown[]) => unknown).apply(target, args)));
  }
  return new Proxy(target, {
    get: (t, p, r) => (wrapped.has(p) ? wrapped.get(p) : Reflect.get(t, p, r)),
  });
}
