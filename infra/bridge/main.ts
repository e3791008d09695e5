// npm run bridge: the JetStream bridge as a process.
//   - loads the functions (the modules BRIDGE_FUNCTIONS names, or the steps of functions/registry.ts);
//   - runs them in-process, or over HTTP for those named in BRIDGE_FUNCTION_URLS;
//   - serves /healthz, /readyz and /metrics (Prometheus) on BRIDGE_HEALTH_HOST:BRIDGE_HEALTH_PORT (loopback by default);
//   - on SIGTERM/SIGINT (V3): stops fetching, finishes and acks what is in flight
//     (up to BRIDGE_SHUTDOWN_GRACE_MS), drains NATS, closes the dependency container
//     (the pool, the S3 client), exits 0
//     (1 if the grace ran out first; those messages are redelivered).
import { serve } from '@hono/node-server';
import { connectBus, jetStream } from '../../shared/adapters/bus.ts';
import { initMetrics, shutdownMetrics } from '../../shared/adapters/metrics.ts';
import { initTelemetry } from '../../shared/adapters/telemetry.ts';
import { configOrExit } from '../../shared/config.ts';
import { logger } from '../../shared/log.ts';
import { warmPool } from '../../shared/adapters/db.ts';
import { closeProcessDeps, processDeps } from '../../shared/runtime/deps.ts';
import { PostgresIdempotencyStore } from '../../shared/runtime/inbox/postgres.ts';
import { loadSteps } from '../../shared/runtime/load.ts';
import { Bridge } from './bridge.ts';
import { healthApp } from './health.ts';
import { consumersPending, reportLag } from './emf.ts';
import { observeBridge, observeSwarm } from './metrics.ts';
import { tick } from './ticker.ts';

const env = configOrExit();
const log = logger('bridge');
process.on('unhandledRejection', (err) => {
  log.fatal({ err }, 'unhandled rejection');
  process.exit(1);
});

const telemetry = initTelemetry(env);
const metricsOn = initMetrics(env);
const paths = env.BRIDGE_FUNCTIONS.split(',').map((p) => p.trim()).filter(Boolean);
// Loaded only when used: a bridge given its modules does not import the whole swarm.
const steps = paths.length > 0 ? await loadSteps(paths) : [...(await import('../../functions/registry.ts')).SWARM_STEPS];
const urls = Object.fromEntries(
  env.BRIDGE_FUNCTION_URLS.split(',')
    .map((p) => p.trim())
    .filter(Boolean)
    .map((p) => [p.slice(0, p.indexOf('=')), p.slice(p.indexOf('=') + 1)]),
);
// The one dependency container: the steps run in-process on it, and the health checks and
// the timer read from it too.
const deps = processDeps();

let bridge: Bridge | undefined;
const health = serve({
  // The raw pool and S3 client, not the guarded ones: readiness reports what each answers
  // now, beside the breakers' states, and its probes must not count against the breakers.
  fetch: healthApp({ bridge: () => bridge, pool: deps.db.pool, s3: deps.s3Client, bucket: env.S3_BUCKET }).fetch,
  port: env.BRIDGE_HEALTH_PORT,
  // Loopback unless asked: readiness names what is down, nothing for other hosts to read.
  hostname: env.BRIDGE_HEALTH_HOST,
});
health.once('listening', () => {
  const a = health.address();
  log.info(typeof a === 'object' && a ? { address: a.address, port: a.port } : { address: a }, 'health endpoints listening');
});

// Connections before messages: the first steps should not pay for them inside their deadlines.
const warm = await warmPool(deps.db.pool, Math.min(env.PG_POOL_MAX, env.BRIDGE_CONCURRENCY));
if (warm.error) log.warn({ err: warm.error, opened: warm.opened }, 'could not open every database connection at start; going on');

const name = `bridge ${env.BRIDGE_INSTANCE_ID || process.pid}`;
const nc = await connectBus(env, name, env.BRIDGE_NATS_IDENTITY);
// Each step's loop runs on the step's own credentials: the server holds it to what it may emit.
const connectAs = env.BRIDGE_STEP_IDENTITIES ? (identity: string) => connectBus(env, name, identity) : undefined;
bridge = await Bridge.start({ nc, ...(connectAs ? { connectAs } : {}), steps, urls, env, db: deps.db, log });

const inbox = new PostgresIdempotencyStore(deps.db);
const cleanup =
  env.BRIDGE_INBOX_CLEANUP_MS > 0
    ? setInterval(() => {
        inbox
          .cleanup()
          .then((n) => n > 0 && log.info({ deleted: n }, 'expired inbox records deleted'))
          .catch((err: unknown) => log.warn({ err }, 'inbox cleanup failed'));
      }, env.BRIDGE_INBOX_CLEANUP_MS).unref()
    : undefined;

const { js: tickJs, jsm } = await jetStream(nc);
if (metricsOn) {
  observeBridge({ bridge: () => bridge, jsm, stream: env.NATS_STREAM, log });
  observeSwarm(deps.db, { overdueMs: env.METRICS_REVIEW_OVERDUE_MS, scopesMax: env.METRICS_SCOPES_MAX }, log);
}
// The AWS autoscale signal (sst.config.ts scales the bridge service on it).
const stopLagReport =
  env.METRICS_EMF_MS > 0
    ? reportLag({
        intervalMs: env.METRICS_EMF_MS,
        stage: env.METRICS_EMF_STAGE,
        read: () => consumersPending(jsm, env.NATS_STREAM, bridge?.loops.map((l) => l.route.consumer) ?? []),
        log,
      })
    : undefined;
const ticker =
  env.BRIDGE_TICK_MS > 0
    ? setInterval(() => {
        tick(deps.db, tickJs, env.NATS_SUBJECT_PREFIX, env.BRIDGE_TICK_MS, Date.now(), { deadlines: () => deps.policies.governance().policy.deadlines })
          .then((n) => n > 0 && log.info({ published: n }, 'timer tick published'))
          .catch((err: unknown) => log.warn({ err }, 'timer tick failed'));
      }, env.BRIDGE_TICK_MS).unref()
    : undefined;

let stopping = false;
async function shutdown(signal: string): Promise<void> {
  if (stopping) {
    log.warn({ signal }, 'second signal: exiting now');
    process.exit(1);
  }
  stopping = true;
  log.info({ signal, inFlight: bridge?.inFlight }, 'stopping: no more fetches, finishing what is in flight');
  clearInterval(cleanup);
  clearInterval(ticker);
  stopLagReport?.();
  const clean = (await bridge?.stop(env.BRIDGE_SHUTDOWN_GRACE_MS)) ?? true;
  if (!clean) log.warn('grace period over with messages still in flight; they will be redelivered');
  await nc.drain().catch((err: unknown) => log.warn({ err }, 'NATS drain failed'));
  await closeProcessDeps();
  await new Promise<void>((r) => {
    health.close(() => r());
    (health as { closeAllConnections?: () => void }).closeAllConnections?.();
  });
  await telemetry.shutdown().catch(() => {});
  await shutdownMetrics();
  log.info({ clean }, 'stopped');
  process.exit(clean ? 0 : 1);
}
process.on('SIGTERM', () => void shutdown('SIGTERM'));
process.on('SIGINT', () => void shutdown('SIGINT'));
