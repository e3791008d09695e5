// npm run api: the HTTP API (functions/api) on API_HOST:API_PORT with @hono/node-server.
//   - refuses to start without a token unless API_DEV_MODE=true (one line, exit 2);
//   - on SIGTERM/SIGINT: stops accepting connections, ends every event stream (their
//     NATS consumers are deleted), gives other requests API_SHUTDOWN_GRACE_MS to
//     finish, drains NATS, ends the pool; exits 0 (1 if the grace ran out).
import { serve } from '@hono/node-server';
import { BUS_IDENTITY } from '../../shared/contract/bus-identity.ts';
import { connectBus, jetStream } from '../../shared/adapters/bus.ts';
import { initMetrics, shutdownMetrics } from '../../shared/adapters/metrics.ts';
import { initTelemetry } from '../../shared/adapters/telemetry.ts';
import { ConfigError, configOrExit } from '../../shared/config.ts';
import { logger } from '../../shared/log.ts';
import { closeProcessDeps, processDeps } from '../../shared/runtime/deps.ts';
import { createApi } from '../../functions/api/app.ts';
import { authSetup } from '../../functions/api/auth.ts';

const env = configOrExit();
try {
  authSetup(env);
} catch (err) {
  if (!(err instanceof ConfigError)) throw err;
  process.stderr.write(`${err.message}\n`);
  process.exit(2);
}
const log = logger('api');
process.on('unhandledRejection', (err) => {
  log.fatal({ err }, 'unhandled rejection');
  process.exit(1);
});

const telemetry = initTelemetry(env);
// Recorded only where they can be read: GET /metrics exists with METRICS_TOKEN.
if (env.METRICS_TOKEN) initMetrics(env);
const deps = processDeps();
let nc;
try {
  nc = await connectBus(env, `api ${process.pid}`, BUS_IDENTITY.api);
} catch (err) {
  process.stderr.write(`cannot connect to NATS at ${env.NATS_URL}: ${(err as Error).message}\n`);
  process.exit(1);
}
const { js } = await jetStream(nc);
const stopping = new AbortController();
const app = createApi({ env, db: deps.db, authz: deps.authz, authzAdmin: deps.authzAdmin, policies: deps.policies, nc, js, log, shutdown: stopping.signal });

const server = serve({ fetch: app.fetch, port: env.API_PORT, hostname: env.API_HOST }, (info) => {
  log.info({ url: `http://${env.API_HOST}:${info.port}`, openapi: '/openapi.json' }, 'API listening');
});
server.once('error', (err) => {
  process.stderr.write(`cannot listen on ${env.API_HOST}:${env.API_PORT}: ${err.message}\n`);
  process.exit(1);
});

async function shutdown(signal: string): Promise<void> {
  if (stopping.signal.aborted) {
    log.warn({ signal }, 'second signal: exiting now');
    process.exit(1);
  }
  log.info({ signal }, 'stopping: no new connections, ending event streams');
  stopping.abort();
  const closed = new Promise<boolean>((resolve) => server.close(() => resolve(true)));
  (server as { closeIdleConnections?: () => void }).closeIdleConnections?.();
  const grace = new Promise<boolean>((resolve) => setTimeout(() => resolve(false), env.API_SHUTDOWN_GRACE_MS).unref());
  const clean = await Promise.race([closed, grace]);
  if (!clean) {
    log.warn('grace period over with requests still open; closing their connections');
    (server as { closeAllConnections?: () => void }).closeAllConnections?.();
  }
  await nc!.drain().catch((err: unknown) => log.warn({ err }, 'NATS drain failed'));
  await closeProcessDeps();
  await telemetry.shutdown().catch(() => {});
  await shutdownMetrics();
  log.info({ clean }, 'stopped');
  process.exit(clean ? 0 : 1);
}
process.on('SIGTERM', () => void shutdown('SIGTERM'));
process.on('SIGINT', () => void shutdown('SIGINT'));
