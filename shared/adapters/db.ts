// Postgres through @neondatabase/serverless (WebSocket driver), the same client on Neon
// and locally. Locally a small WebSocket-to-TCP proxy (infra/wsproxy) stands in for
// Neon's edge; PG_WS_PROXY points at it. Pool size and timeouts are bounded (V8).
import { Pool, neonConfig, type PoolClient } from '@neondatabase/serverless';
import ws from 'ws';
import type { Env } from '../config.ts';

export type { PoolClient };
export type Queryable = Pick<Pool, 'query'> | Pick<PoolClient, 'query'>;

let configuredProxy: string | undefined;

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

function configureDriver(proxy: string): void {
  if (configuredProxy === proxy) return;
  neonConfig.webSocketConstructor = CoalescingWebSocket;
  neonConfig.coalesceWrites = false;
  if (proxy) {
    // Plain ws:// to a local proxy, and no pipelining: plain Postgres does not
    // support Neon's pipelined TLS/auth shortcuts.
    neonConfig.wsProxy = (host: string, port: number | string) => `${proxy}/v2?address=${host}:${port}`;
    neonConfig.useSecureWebSocket = false;
    neonConfig.pipelineTLS = false;
    neonConfig.pipelineConnect = false;
  }
  configuredProxy = proxy;
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
  configureDriver(cfg.PG_WS_PROXY);
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
  // An idle client losing its connection (server restart) must not crash the process.
  pool.on('error', () => {});
  return pool;
}

/** Run fn inside BEGIN/COMMIT on one pooled connection; ROLLBACK on any error. */
export async function withTransaction<T>(pool: Pool, fn: (tx: PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  let broken = false;
  // A connection lost between statements surfaces as an 'error' event on the
  // checked-out client, which would crash the process if nobody listened.
  const onLost = () => (broken = true);
  client.on('error', onLost);
  try {
    await client.query('BEGIN');
    const out = await fn(client);
    await client.query('COMMIT');
    return out;
  } catch (err) {
    try {
      await client.query('ROLLBACK');
    } catch {
      broken = true; // connection is gone; do not return it to the pool
    }
    throw err;
  } finally {
    client.off('error', onLost);
    client.release(broken);
  }
}
