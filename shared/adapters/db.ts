// Postgres through @neondatabase/serverless (WebSocket driver), the same client on Neon
// and locally. Locally a small WebSocket-to-TCP proxy (infra/wsproxy) stands in for
// Neon's edge; PG_WS_PROXY points at it. Pool size and timeouts are bounded (V8).
import { Pool, neonConfig, type Client, type PoolClient } from '@neondatabase/serverless';
import ws from 'ws';
import type { Env } from '../config.ts';
import { dependencyFailure } from './resilience.ts';

export type { PoolClient };
/**
 * Anything that runs a query: a Pool, a transaction's Tx, or the guarded pool of
 * shared/runtime/guarded.ts (breaker + retry).
 */
export interface Queryable {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  query<R extends Record<string, any> = any>(text: string, values?: unknown[]): Promise<{ rows: R[]; rowCount: number | null }>;
}

declare const inTransaction: unique symbol;
/**
 * A connection inside a transaction someone else owns (withTransaction, the inbox's
 * commit): all a store function may do with it is query. Branded, so that a pool
 * (where each query would be its own transaction) is not taken for one, and narrow,
 * so that nobody releases the connection or ends the transaction under its owner.
 */
export interface Tx extends Queryable {
  readonly [inTransaction]: true;
}

/** The one place a driver connection becomes a Tx: its holder has just sent BEGIN. */
export const asTx = (client: PoolClient): Tx => client as unknown as Tx;

let configured = false;

/**
 * The driver's own write coalescing (neonConfig.coalesceWrites) holds every write
 * for a setTimeout(0), which is at least 1 ms in Node: a query round trip through
 * the local proxy took 1.6 ms instead of 0.35 ms. Coalescing the writes issued in
 * the same tick (one frame per query) keeps the frame count down without the delay.
 */
class CoalescingWebSocket extends ws {
  #pending: Buffer[] = [];
  override send(data: unknown, ...rest: unknown[]): void {
    if (rest.length > 0 || this.readyState !== ws.OPEN) return void (super.send as (...a: unknown[]) => void)(data, ...rest);
    const u8 = data as Uint8Array;
    this.#pending.push(Buffer.isBuffer(u8) ? u8 : Buffer.from(u8.buffer, u8.byteOffset, u8.byteLength));
    if (this.#pending.length === 1) queueMicrotask(() => this.#flush());
  }
  override close(...args: Parameters<ws['close']>): void {
    this.#flush();
    super.close(...args);
  }
  #flush(): void {
    if (this.#pending.length === 0) return;
    const frame = this.#pending.length === 1 ? this.#pending[0]! : Buffer.concat(this.#pending);
    this.#pending = [];
    if (this.readyState === ws.OPEN) super.send(frame, { binary: true });
  }
}

function configureDriver(): void {
  if (configured) return;
  neonConfig.webSocketConstructor = CoalescingWebSocket;
  neonConfig.coalesceWrites = false;
  configured = true;
}

/**
 * Plain ws:// to a local proxy, and no pipelining: plain Postgres does not support
 * Neon's pipelined TLS/auth shortcuts. Set on each client of this pool rather than
 * globally, so that two pools of one process can go through different proxies
 * (a test's private Postgres next to the shared one).
 */
function throughProxy(pool: Pool, proxy: string): void {
  type ClientClass = typeof Client;
  const owner = pool as unknown as { Client: ClientClass };
  const Base = owner.Client;
  owner.Client = class extends Base {
    constructor(...args: ConstructorParameters<ClientClass>) {
      super(...args);
      const c = this.neonConfig;
      c.wsProxy = (host: string, port: number | string) => `${proxy}/v2?address=${host}:${port}`;
      c.useSecureWebSocket = false;
      c.pipelineTLS = false;
      c.pipelineConnect = false;
    }
  };
}

export type DbConfig = Pick<
  Env,
  | 'DATABASE_URL'
  | 'PG_WS_PROXY'
  | 'PG_POOL_MAX'
  | 'PG_CONNECT_TIMEOUT_MS'
  | 'PG_STATEMENT_TIMEOUT_MS'
  | 'PG_IDLE_TIMEOUT_MS'
>;

export function createPool(cfg: DbConfig): Pool {
  configureDriver();
  const pool = new Pool({
    connectionString: cfg.DATABASE_URL,
    max: cfg.PG_POOL_MAX,
    connectionTimeoutMillis: cfg.PG_CONNECT_TIMEOUT_MS,
    idleTimeoutMillis: cfg.PG_IDLE_TIMEOUT_MS,
    // Sent in the startup packet: every statement on every connection is bounded.
    statement_timeout: cfg.PG_STATEMENT_TIMEOUT_MS,
    idle_in_transaction_session_timeout: cfg.PG_STATEMENT_TIMEOUT_MS * 2,
    application_name: 'governed-swarm',
  } as ConstructorParameters<typeof Pool>[0]);
  if (cfg.PG_WS_PROXY) throughProxy(pool, cfg.PG_WS_PROXY);
  // An idle client losing its connection (server restart) must not crash the process.
  pool.on('error', () => {});
  // Nor may a checked-out client: the server's "terminating connection" (a restart) is
  // an 'error' event, uncaught if its holder did not listen (seen once, intermittently,
  // in the Postgres restart fault test). Every client keeps one listener for life;
  // failures still reach the query or transaction that was running.
  pool.on('connect', (client: PoolClient) => client.on('error', () => {}));
  return pool;
}

/**
 * fn on one pooled connection, released afterwards. Released broken (closed, not
 * reused) when the connection reported an error or fn failed on the dependency.
 */
export async function withClient<T>(pool: Pool, fn: (client: PoolClient, markBroken: () => void) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  let broken = false;
  // A connection lost between two statements is reported as an 'error' event on the
  // checked-out client; unheard, it would crash the process. The next statement
  // fails anyway, and that failure is what we act on.
  const onLost = () => (broken = true);
  client.on('error', onLost);
  try {
    return await fn(client, onLost);
  } catch (err) {
    broken ||= dependencyFailure(err);
    throw err;
  } finally {
    client.off('error', onLost);
    client.release(broken);
  }
}

/**
 * The one transaction helper: BEGIN, fn, COMMIT on one pooled connection; ROLLBACK
 * when fn throws (a connection that cannot even roll back is not reused). The
 * runtime's GuardedPool runs this behind its breaker; store functions reach it
 * through inTransaction (shared/store/db.ts).
 */
export function withTransaction<T>(pool: Pool, fn: (tx: Tx) => Promise<T>): Promise<T> {
  return withClient(pool, (client, markBroken) => transactionOn(client, fn, { onRollbackFailure: markBroken }));
}

/**
 * `begin`, fn, COMMIT on a connection the caller holds (withTransaction's, or a session's
 * for another isolation level); ROLLBACK when fn throws, and fn's error is the one
 * reported. A failed ROLLBACK goes to `onRollbackFailure`.
 */
export async function transactionOn<T>(
  client: PoolClient,
  fn: (tx: Tx) => Promise<T>,
  o: { begin?: string; onRollbackFailure?: () => void } = {},
): Promise<T> {
  await client.query(o.begin ?? 'BEGIN');
  try {
    const out = await fn(asTx(client));
    await client.query('COMMIT');
    return out;
  } catch (err) {
    await client.query('ROLLBACK').catch(o.onRollbackFailure ?? (() => {}));
    throw err;
  }
}

/**
 * Open up to n connections now and return them to the pool idle. A connection
 * costs a WebSocket, a TLS-less startup and a SCRAM exchange (milliseconds of CPU
 * each); paid inside the first steps' deadlines, on a busy machine, it made them
 * time out and run again. Best effort: an unreachable database is reported, not
 * fatal (the bridge starts anyway, and readiness says what is down).
 */
export async function warmPool(pool: Pool, n: number): Promise<{ opened: number; error?: unknown }> {
  const results = await Promise.allSettled(Array.from({ length: n }, () => pool.connect()));
  let opened = 0;
  let error: unknown;
  for (const r of results) {
    if (r.status === 'fulfilled') {
      opened++;
      r.value.release();
    } else error ??= r.reason;
  }
  return error === undefined ? { opened } : { opened, error };
}
