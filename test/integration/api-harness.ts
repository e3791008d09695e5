// The API against real services for one test file: its own database, its own OpenFGA
// store (model.fga + tuples.yaml), its own stream and subject prefix on the shared
// NATS, and three principals with tokens: agent:api (API_TOKEN), user:operator and
// agent:intruder (API_TOKENS).
import { randomBytes } from 'node:crypto';
import { ensureOpenFga } from '../../infra/services/bootstrap.ts';
import { createApi, type ApiApp } from '../../functions/api/app.ts';
import { createAuthorizer, createAuthzAdmin, type AuthzAdmin } from '../../shared/adapters/authz.ts';
import { connectBus, jetStream, provisionStreams, type JetStreamClient, type JetStreamManager, type NatsConnection } from '../../shared/adapters/bus.ts';
import { loadEnv, type Env } from '../../shared/config.ts';
import { policySourceFromEnv } from '../../shared/policy/load.ts';
import { guardPool, type GuardedPool } from '../../shared/runtime/guarded.ts';
import { freshDatabase, type TestDatabase } from '../support/db.ts';
import { uniq } from '../support/ids.ts';

export const token = () => randomBytes(24).toString('base64url');

export interface ApiHarness {
  env: Env;
  db: TestDatabase;
  guarded: GuardedPool;
  admin: AuthzAdmin;
  nc: NatsConnection;
  js: JetStreamClient;
  jsm: JetStreamManager;
  app: ApiApp;
  tokens: { api: string; operator: string; intruder: string };
  /** Another app on the same services with some settings changed. */
  appWith(over: Partial<Env>, extra?: { shutdown?: AbortSignal }): ApiApp;
  /** app.request with a bearer token and a JSON body. */
  call(method: string, path: string, opts?: { token?: string | null; json?: unknown; body?: BodyInit; headers?: Record<string, string>; app?: ApiApp }): Promise<Response>;
  /** Messages in the test's stream. */
  streamMessages(): Promise<number>;
  close(): Promise<void>;
}

export async function startApi(): Promise<ApiHarness> {
  const base = loadEnv();
  const db = await freshDatabase();
  const { storeId, modelId } = await ensureOpenFga(base.OPENFGA_API_URL, uniq('api-test-'), base.OPENFGA_API_TOKEN);
  const id = uniq('');
  const tokens = { api: token(), operator: token(), intruder: token() };
  const env: Env = {
    ...db.env,
    LOG_LEVEL: 'silent',
    OPENFGA_STORE_ID: storeId,
    OPENFGA_MODEL_ID: modelId,
    AUTHZ_DISABLED: false,
    NATS_STREAM: `T_${id}`,
    NATS_DLQ_STREAM: `T_${id}_DLQ`,
    NATS_SUBJECT_PREFIX: `t${id}`,
    NATS_STREAM_MAX_AGE_MS: 3_600_000,
    NATS_DLQ_MAX_AGE_MS: 3_600_000,
    API_TOKEN: tokens.api,
    API_TOKENS: `${tokens.operator}=user:operator, ${tokens.intruder}=agent:intruder`,
    API_DEV_MODE: false,
    API_SSE_KEEPALIVE_MS: 1_000,
  };
  const nc = await connectBus(env, 'api-test', 'operator');
  const { js, jsm } = await jetStream(nc);
  await provisionStreams(jsm, env);
  const guarded = guardPool(db.pool, undefined, uniq('pg-'));
  const admin = createAuthzAdmin(env);
  const build = (e: Env, extra: { shutdown?: AbortSignal } = {}) =>
    createApi({ env: e, db: guarded, authz: createAuthorizer(e, { breaker: uniq('fga-') }), authzAdmin: createAuthzAdmin(e), policies: policySourceFromEnv(e), nc, js, ...extra });
  const app = build(env);
  return {
    env,
    db,
    guarded,
    admin,
    nc,
    js,
    jsm,
    app,
    tokens,
    appWith: (over, extra) => build({ ...env, ...over }, extra),
    call(method, path, opts = {}) {
      const headers: Record<string, string> = { ...(opts.headers ?? {}) };
      const t = opts.token === undefined ? tokens.api : opts.token;
      if (t !== null) headers.authorization = `Bearer ${t}`;
      let body = opts.body;
      if (opts.json !== undefined) {
        body = JSON.stringify(opts.json);
        headers['content-type'] ??= 'application/json';
      }
      return Promise.resolve((opts.app ?? app).request(path, { method, headers, ...(body !== undefined ? { body } : {}) }));
    },
    async streamMessages() {
      return (await jsm.streams.info(env.NATS_STREAM)).state.messages;
    },
    async close() {
      for (const s of [env.NATS_STREAM, env.NATS_DLQ_STREAM]) await jsm.streams.delete(s).catch(() => {});
      await nc.drain().catch(() => {});
      await db.drop();
    },
  };
}

/** Row count and content digest of every table: equal before and after means nothing was written. */
export async function databaseFingerprint(db: TestDatabase): Promise<Record<string, string>> {
  const { rows } = await db.pool.query<{ table_name: string }>(
    `SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' AND table_type = 'BASE TABLE' ORDER BY table_name`,
  );
  const out: Record<string, string> = {};
  for (const { table_name } of rows) {
    const r = await db.pool.query<{ n: string; digest: string | null }>(
      `SELECT count(*) AS n, md5(coalesce(string_agg(t::text, '|' ORDER BY t::text), '')) AS digest FROM "${table_name}" t`,
    );
    out[table_name] = `${r.rows[0]!.n}:${r.rows[0]!.digest}`;
  }
  return out;
}

/** Read an SSE response until `until` says stop (or the time runs out); returns the parsed events. */
export interface SseEvent {
  event?: string;
  id?: string;
  data?: string;
  comment?: string;
}

export class SseReader {
  readonly events: SseEvent[] = [];
  #reader: ReadableStreamDefaultReader<Uint8Array>;
  #buf = '';
  #decoder = new TextDecoder();
  #pending: Promise<ReadableStreamReadResult<Uint8Array>> | undefined;
  constructor(res: Response) {
    this.#reader = res.body!.getReader();
  }
  /** Read until an event satisfies `pred`; rejects after timeoutMs. */
  async waitFor(pred: (e: SseEvent) => boolean, timeoutMs = 10_000): Promise<SseEvent> {
    const seen = this.events.find(pred);
    if (seen) return seen;
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no matching event within ${timeoutMs} ms; got ${JSON.stringify(this.events.map((e) => e.event ?? e.comment))}`);
      let timer: NodeJS.Timeout | undefined;
      // A read outlives a timeout: keep it for the next call, or its chunk would be lost.
      this.#pending ??= this.#reader.read();
      const chunk = await Promise.race([
        this.#pending,
        new Promise<'timeout'>((r) => {
          timer = setTimeout(() => r('timeout'), left);
        }),
      ]);
      clearTimeout(timer);
      if (chunk === 'timeout') continue;
      this.#pending = undefined;
      if (chunk.done) throw new Error('stream ended');
      this.#buf += this.#decoder.decode(chunk.value, { stream: true });
      let i: number;
      while ((i = this.#buf.indexOf('\n\n')) >= 0) {
        const block = this.#buf.slice(0, i);
        this.#buf = this.#buf.slice(i + 2);
        const e: SseEvent = {};
        for (const line of block.split('\n')) {
          if (line.startsWith(':')) e.comment = line.slice(1).trim();
          else if (line.startsWith('event: ')) e.event = line.slice(7);
          else if (line.startsWith('id: ')) e.id = line.slice(4);
          else if (line.startsWith('data: ')) e.data = (e.data === undefined ? '' : `${e.data}\n`) + line.slice(6);
        }
        this.events.push(e);
        if (pred(e)) return e;
      }
    }
  }
  async cancel(): Promise<void> {
    await this.#reader.cancel().catch(() => {});
  }
}
