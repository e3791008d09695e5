// One validated configuration for every process (functions, bridge, API, scripts).
// Every variable is documented with its default in .env.example; a wrong value fails
// at start with a message that names the variable.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { MAX_DOCUMENT_CHARS } from './contract/messages.ts';
import { parseAllowNets } from './notify/address.ts';
import { parseGlobalWebhooks } from './notify/webhook.ts';

const bool = z
  .enum(['true', 'false', '1', '0', 'yes', 'no', ''])
  .transform((v) => v === 'true' || v === '1' || v === 'yes');
const int = (min: number, max = Number.MAX_SAFE_INTEGER) => z.coerce.number().int().min(min).max(max);
const url = (protocols: string[]) =>
  z.string().refine(
    (v) => {
      try {
        return protocols.includes(new URL(v).protocol.replace(/:$/, ''));
      } catch {
        return false;
      }
    },
    { message: `expected a URL with scheme ${protocols.join(' or ')}` },
  );
/** Optional per-role timeout; an empty value means unset, as for the role's model. */
const roleTimeout = z.preprocess((v) => (v === '' ? undefined : v), int(100, 900_000).optional());
const hostPort = z.string().regex(/^[A-Za-z0-9.-]+:\d{1,5}$/, 'expected host:port');
const subjectToken = z.string().regex(/^[A-Za-z0-9_-]+$/, 'expected a NATS subject token ([A-Za-z0-9_-])');
const streamName = z.string().regex(/^[A-Za-z0-9_-]+$/, 'expected a JetStream stream name ([A-Za-z0-9_-])');

/** Env var name → schema. Defaults are the local services started by `npm run services:up`. */
export const envSchema = z.object({
  SWARM_ENV: z.enum(['development', 'test', 'production']).default('development'),
  LOG_LEVEL: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']).default('info'),
  GSWARM_HOME: z.string().min(1).optional(),

  DATABASE_URL: url(['postgres', 'postgresql']).default('postgresql://swarm:swarm@127.0.0.1:5433/swarm'),
  PG_WS_PROXY: z.union([hostPort, z.literal('')]).default('127.0.0.1:5480'),
  PG_POOL_MAX: int(1, 200).default(10),
  PG_CONNECT_TIMEOUT_MS: int(100).default(5_000),
  PG_STATEMENT_TIMEOUT_MS: int(100).default(15_000),
  PG_IDLE_TIMEOUT_MS: int(100).default(30_000),

  NATS_URL: z
    .string()
    .refine((v) => v.split(',').every((u) => /^(nats|tls|ws|wss):\/\/[^\s/]+$/.test(u.trim())), {
      message: 'expected nats://host:port (comma-separated for a cluster)',
    })
    .default('nats://127.0.0.1:4222'),
  /**
   * Bus credentials, one file per identity (api, bridge, step-<name>, operator): <identity>.creds
   * (a NATS JWT credentials file, e.g. from a managed NATS) or <identity>.nk (an nkey seed, as
   * services.sh generates). Empty: connect without credentials (a server that requires none).
   */
  NATS_CREDS_DIR: z.string().default(''),
  NATS_STREAM: streamName.default('SWARM'),
  NATS_DLQ_STREAM: streamName.default('SWARM_DLQ'),
  NATS_SUBJECT_PREFIX: subjectToken.default('swarm'),
  /** 0 = computed from the redelivery span (min(max_deliver, 5) × max(ack_wait, step timeout) + total backoff). */
  NATS_DUPLICATE_WINDOW_MS: int(0).default(0),
  NATS_STREAM_MAX_AGE_MS: int(60_000).default(7 * 24 * 3600_000),
  NATS_DLQ_MAX_AGE_MS: int(60_000).default(30 * 24 * 3600_000),
  /**
   * Copies of each stream (and of its consumers, which inherit it) across a JetStream cluster;
   * 3 survives the loss of one server. Applies when the bridge creates a stream: an existing
   * stream keeps its count (shared/adapters/bus.ts ensureStream).
   */
  NATS_STREAM_REPLICAS: int(1, 5).default(1),

  /** Function modules the bridge runs (comma-separated paths); empty = every functions/<name>/index.ts. */
  BRIDGE_FUNCTIONS: z.string().default(''),
  /** `name=url,...`: invoke these functions over HTTP instead of in-process. */
  BRIDGE_FUNCTION_URLS: z
    .string()
    .refine((v) => v.trim() === '' || v.split(',').every((p) => /^[a-z][a-z0-9-]*=https?:\/\/\S+$/.test(p.trim())), {
      message: 'expected name=http(s)://host[:port][/path], comma-separated',
    })
    .default(''),
  /** In-process functions: `direct` calls the step's invoke (what its /invoke route runs); `fetch` goes through app.fetch with a Request. */
  BRIDGE_IN_PROCESS: z.enum(['direct', 'fetch']).default('direct'),
  /** The bridge's own bus identity (provisioning, timer, advisories). */
  BRIDGE_NATS_IDENTITY: z.string().regex(/^[a-z][a-z0-9-]{0,62}$/).default('bridge'),
  /**
   * Run each step's loop on the step's own credential (step-<name>), so the server holds it
   * to what it emits. false: every loop on the bridge's identity (functions with no
   * credential of their own, e.g. the test fixtures, run with BRIDGE_NATS_IDENTITY=operator).
   */
  BRIDGE_STEP_IDENTITIES: bool.default(true),
  BRIDGE_DEPLOYMENT_ID: z.string().regex(/^[A-Za-z0-9._-]{1,64}$/, 'expected 1-64 chars of A-Z a-z 0-9 . _ -').default('local'),
  BRIDGE_INSTANCE_ID: z.string().max(64).default(''),
  BRIDGE_BATCH: int(1, 256).default(10),
  BRIDGE_FETCH_EXPIRES_MS: int(1_000).default(5_000),
  BRIDGE_CONCURRENCY: int(1, 10_000).default(16),
  BRIDGE_MAX_IN_FLIGHT: int(1, 100_000).default(64),
  BRIDGE_ACK_WAIT_MS: int(1_000).default(30_000),
  /** A safety net only: transient failures are dead-lettered by the time budgets below, long before. */
  BRIDGE_MAX_DELIVER: int(1, 100_000).default(1_000),
  /** How long a message keeps being retried after transient failures of kind `failure` (shared/contract/errors.ts). */
  BRIDGE_RETRY_BUDGET_MS: int(0).default(15 * 60_000),
  /** The same for outages (a dependency down, a breaker open); contention is retried without limit. */
  BRIDGE_OUTAGE_BUDGET_MS: int(0).default(2 * 3600_000),
  BRIDGE_MAX_ACK_PENDING: int(1).default(1_000),
  BRIDGE_NAK_BASE_MS: int(0).default(1_000),
  BRIDGE_NAK_MAX_MS: int(0).default(60_000),
  BRIDGE_SHUTDOWN_GRACE_MS: int(0).default(25_000),
  BRIDGE_HEALTH_PORT: int(0, 65535).default(3010),
  /** Address the bridge's /healthz and /readyz bind; 0.0.0.0 for a probe from another host (a container orchestrator). */
  BRIDGE_HEALTH_HOST: z.string().min(1).default('127.0.0.1'),
  BRIDGE_INBOX_CLEANUP_MS: int(0).default(10 * 60_000),
  /** Finality evaluation and status tick of every open scope this often; 0 = never. */
  BRIDGE_TICK_MS: int(0).default(15 * 60_000),
  INBOX_TTL_MS: int(60_000).default(7 * 24 * 3600_000),
  /** A claim's lease, renewed every third of it while the step runs: a crashed run's claim is free this long after the crash. */
  INBOX_LEASE_MS: int(100).default(15_000),
  /**
   * Claims, and claimed commits of one function, issued together (one fetched batch)
   * go to Postgres as one statement / one transaction of at most this many messages
   * (shared/runtime/inbox/grouping.ts); 1 turns grouping off.
   */
  INBOX_GROUP_MAX: int(1, 1_000).default(64),
  FUNCTION_PORT: int(1, 65535).default(3100),
  /** Address `npm run function:serve` binds. */
  FUNCTION_HOST: z.string().min(1).default('127.0.0.1'),

  STORAGE_BACKEND: z.enum(['minio', 'rustfs', 's3']).default('minio'),
  S3_ENDPOINT: z.union([url(['http', 'https']), z.literal('')]).default('http://127.0.0.1:9000'),
  S3_REGION: z.string().min(1).default('us-east-1'),
  S3_ACCESS_KEY: z.string().default('swarm'),
  S3_SECRET_KEY: z.string().default('swarm-secret'),
  S3_BUCKET: z
    .string()
    .regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, 'expected an S3 bucket name')
    .default('swarm'),

  OPENFGA_API_URL: z.union([url(['http', 'https']), z.literal('')]).default('http://127.0.0.1:8080'),
  OPENFGA_STORE_ID: z.string().default(''),
  OPENFGA_MODEL_ID: z.string().default(''),
  /** OpenFGA's preshared key (its --authn-method preshared); sent as a bearer token. Empty: no authentication. */
  OPENFGA_API_TOKEN: z.string().default(''),
  AUTHZ_DISABLED: bool.default(false),
  OPENFGA_TIMEOUT_MS: int(50, 60_000).default(2_000),

  FACTS_WORKER_URL: z.union([url(['http', 'https']), z.literal('')]).default('http://127.0.0.1:8010'),
  EMBEDDING_DIM: int(1, 16_000).default(384),

  LLM_PROVIDER: z.enum(['none', 'openai-compatible']).default('none'),
  LLM_BASE_URL: z.union([url(['http', 'https']), z.literal('')]).default(''),
  LLM_API_KEY: z.string().default(''),
  LLM_MODEL: z.string().default(''),
  LLM_TIMEOUT_MS: int(100).default(30_000),
  /**
   * Per role (shared/llm/roles.ts): a model name (or `none`: that role takes its fallback)
   * and a timeout; unset, the role takes LLM_MODEL and LLM_TIMEOUT_MS.
   */
  LLM_MODEL_FACTS: z.string().max(200).optional(),
  LLM_MODEL_DRIFT: z.string().max(200).optional(),
  LLM_MODEL_PLANNER: z.string().max(200).optional(),
  LLM_MODEL_STATUS: z.string().max(200).optional(),
  LLM_MODEL_GOVERNANCE_OVERSIGHT: z.string().max(200).optional(),
  LLM_MODEL_GOVERNANCE_TOOLS: z.string().max(200).optional(),
  LLM_MODEL_REVIEW_EXPLANATION: z.string().max(200).optional(),
  LLM_TIMEOUT_MS_FACTS: roleTimeout,
  LLM_TIMEOUT_MS_DRIFT: roleTimeout,
  LLM_TIMEOUT_MS_PLANNER: roleTimeout,
  LLM_TIMEOUT_MS_STATUS: roleTimeout,
  LLM_TIMEOUT_MS_GOVERNANCE_OVERSIGHT: roleTimeout,
  LLM_TIMEOUT_MS_GOVERNANCE_TOOLS: roleTimeout,
  LLM_TIMEOUT_MS_REVIEW_EXPLANATION: roleTimeout,

  /**
   * The offline extractor's caps (shared/extract/limits.ts). A document longer than
   * EXTRACT_MAX_DOCUMENT_CHARS is a permanent `document_too_large` (at most what the API
   * and the doc.submitted schema accept, which is the default); longer sentences are
   * read in chunks; figures per sentence and claims per document beyond the caps are
   * ignored and counted (the step result's `extraction_limits`).
   */
  EXTRACT_MAX_DOCUMENT_CHARS: int(1_000, MAX_DOCUMENT_CHARS).default(MAX_DOCUMENT_CHARS),
  EXTRACT_MAX_SENTENCE_TOKENS: int(20, 5_000).default(200),
  EXTRACT_MAX_TOKEN_CHARS: int(16, 10_000).default(100),
  EXTRACT_MAX_SENTENCE_FIGURES: int(1, 1_000).default(24),
  EXTRACT_MAX_CLAIMS: int(1, 100_000).default(2_000),
  /** Worker threads for the offline extractor; 0 = run it on the calling thread (no deadline). */
  EXTRACT_WORKERS: int(0, 64).default(1),
  /** A worker extracting one document longer than this is stopped: a permanent `extraction_timeout`. */
  EXTRACT_TIMEOUT_MS: int(100, 600_000).default(20_000),
  /** The bundled worker (Lambda); empty = shared/extract/worker.ts through tsx. */
  EXTRACT_WORKER_FILE: z.string().default(''),

  /**
   * Documents of one scope merged per transaction by the facts step (functions/facts):
   * whoever holds the scope's lock digests up to this many staged documents at once.
   */
  FACTS_DIGEST_BATCH: int(1, 1_000).default(32),

  GOVERNANCE_PATH: z.string().min(1).optional(),
  FINALITY_PATH: z.string().min(1).optional(),
  FINALITY_SIGNING_KEY: z.string().default(''),
  FINALITY_KEY_ID: z.string().default(''),
  /** Context-log retention for certified scopes, and compaction age of noisy entries (npm run wal:compact). */
  WAL_RETENTION_DAYS: z.coerce.number().min(0).default(90),
  WAL_COMPACT_AFTER_DAYS: z.coerce.number().min(0).default(7),

  API_TOKEN: z.string().default(''),
  API_DEV_MODE: bool.default(false),
  API_PORT: int(1, 65535).default(3002),
  /** More bearer tokens, `token=principal,...` (principal agent:<id> or user:<id>); API_TOKEN is agent:api's. Checked by functions/api/auth.ts. */
  API_TOKENS: z.string().default(''),
  /** Bearer token the bridge sends and deployed steps require on POST /invoke; empty = no check (local). */
  STEP_INVOKE_TOKEN: z.string().default(''),
  /** Address `npm run api` binds; 0.0.0.0 to accept connections from other hosts. */
  API_HOST: z.string().min(1).default('127.0.0.1'),
  /** Comment line sent on an idle event stream, so proxies keep it open. */
  API_SSE_KEEPALIVE_MS: int(1_000, 300_000).default(15_000),
  /** Open event streams per process; one more is answered 503. */
  API_SSE_MAX_STREAMS: int(1, 100_000).default(100),
  /** At SIGTERM/SIGINT: event streams end at once; other requests get this long to finish. */
  API_SHUTDOWN_GRACE_MS: int(0).default(10_000),

  /** The API's address as people reach it (https://swarm.example.com); links in notifications. Empty: no links. */
  API_PUBLIC_URL: z.union([url(['http', 'https']), z.literal('')]).default(''),

  /**
   * Global webhooks (every scope), a JSON array of {id, url, events?, format?, secret}
   * (shared/notify/webhook.ts); a scope's own are set through the API.
   */
  WEBHOOKS: z
    .string()
    .superRefine((v, ctx) => {
      try {
        parseGlobalWebhooks(v);
      } catch (err) {
        ctx.addIssue({ code: 'custom', message: (err as Error).message });
      }
    })
    .default(''),
  /** Addresses or CIDRs (comma-separated) webhooks may reach although not public (loopback, private); none by default. */
  WEBHOOK_ALLOW_NETS: z
    .string()
    .superRefine((v, ctx) => {
      try {
        parseAllowNets(v);
      } catch (err) {
        ctx.addIssue({ code: 'custom', message: (err as Error).message });
      }
    })
    .default(''),
  /** One webhook request, connection to last byte read. */
  NOTIFY_TIMEOUT_MS: int(100, 60_000).default(5_000),
  /** An event older than this when the notifier first sees it is not sent (a new notifier reading old history, a long outage). */
  NOTIFY_MAX_AGE_MS: int(1_000).default(6 * 3_600_000),
  /** A notification whose POST failed this many deliveries is dead-lettered (replay: npm run dlq). */
  NOTIFY_MAX_ATTEMPTS: int(1, 100).default(12),

  OTEL_EXPORTER_OTLP_ENDPOINT: z.union([url(['http', 'https']), z.literal('')]).default(''),
  OTEL_SERVICE_NAME: z.string().default('governed-swarm'),
  /** Prometheus /metrics on the bridge's health port and the API; false: no instruments at all (nothing recorded). */
  METRICS_ENABLED: bool.default(true),
  /** Bearer token the API's /metrics requires (the API port serves clients); empty: the API has no /metrics. */
  METRICS_TOKEN: z.string().default(''),
  /** A pending review older than this counts as overdue (gswarm_reviews_overdue). */
  METRICS_REVIEW_OVERDUE_MS: int(60_000).default(24 * 3_600_000),
  /** Open scopes with their own series (most recently active first); the rest are folded into scope="other". */
  METRICS_SCOPES_MAX: int(1, 10_000).default(500),
  /** The bridge prints its consumers' lag as a CloudWatch EMF line this often (0: never); the AWS autoscale signal. */
  METRICS_EMF_MS: int(0, 3_600_000).default(0),
  /** The EMF line's Stage dimension (the SST stage). */
  METRICS_EMF_STAGE: z.string().max(100).default(''),
});

export type Env = z.infer<typeof envSchema>;

export class ConfigError extends Error {
  constructor(readonly issues: { variable: string; message: string }[]) {
    super(
      'invalid configuration: ' + issues.map((i) => `${i.variable}: ${i.message}`).join('; '),
    );
    this.name = 'ConfigError';
  }
}

/** Where local services keep their data, binaries and the generated services.env. */
export function gswarmHome(env: NodeJS.ProcessEnv = process.env): string {
  if (env.GSWARM_HOME) return env.GSWARM_HOME;
  if (process.getuid?.() === 0) return '/var/lib/governed-swarm';
  return join(env.HOME ?? '/tmp', '.local/share/governed-swarm');
}

/** KEY=VALUE lines written by services:up (OpenFGA store id, signing key...). */
export function readServicesEnv(env: NodeJS.ProcessEnv = process.env): Record<string, string> {
  const file = join(gswarmHome(env), 'services.env');
  if (!existsSync(file)) return {};
  const out: Record<string, string> = {};
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const m = /^\s*(?:export\s+)?([A-Z0-9_]+)=(.*)$/.exec(line);
    if (m) out[m[1]!] = m[2]!.replace(/^'(.*)'$/, '$1');
  }
  return out;
}

/** Variables whose value must not be echoed in a configuration error (WEBHOOKS holds signing secrets). */
const SECRET_VALUES = new Set(['WEBHOOKS']);

/**
 * Parse the environment. Values from services.env fill in what the process
 * environment leaves unset, so local commands find the OpenFGA store without setup.
 */
export function loadEnv(env: NodeJS.ProcessEnv = process.env): Env {
  const merged: Record<string, string | undefined> = { ...readServicesEnv(env), ...env };
  // Treat empty strings as "unset" only where a default exists would hide typos; keep them.
  const parsed = envSchema.safeParse(merged);
  if (!parsed.success) {
    throw new ConfigError(
      parsed.error.issues.map((i) => ({
        variable: String(i.path[0] ?? '?'),
        message: SECRET_VALUES.has(String(i.path[0])) ? `${i.message} (value not shown: it holds secrets)` : `${i.message} (got ${JSON.stringify(merged[String(i.path[0])] ?? null)})`,
      })),
    );
  }
  const e = parsed.data;
  if (e.SWARM_ENV === 'production' && e.AUTHZ_DISABLED) {
    throw new ConfigError([{ variable: 'AUTHZ_DISABLED', message: 'may not be set in production' }]);
  }
  return e;
}

let cached: Env | undefined;
/** Process-wide config, parsed once. */
export function config(): Env {
  cached ??= loadEnv();
  return cached;
}

/** For tests that change process.env. */
export function resetConfigCache(): void {
  cached = undefined;
}

/**
 * Entry points call this first: a bad value prints one line naming the variable
 * and exits with status 2 instead of a stack trace.
 */
export function configOrExit(): Env {
  try {
    return config();
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
}
