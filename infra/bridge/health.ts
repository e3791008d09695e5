// Liveness and readiness (V7). /healthz answers while the process runs.
// /readyz checks what the functions need: NATS connected (and not draining),
// Postgres answering SELECT 1, the S3 bucket reachable, neither of their breakers
// open; 503 with a body that names what is down. Every breaker's state is listed.
import { HeadBucketCommand, type S3Client } from '@aws-sdk/client-s3';
import type { Pool } from '@neondatabase/serverless';
import { Hono } from 'hono';
import { PROMETHEUS_CONTENT_TYPE, metricsEnabled, metricsText } from '../../shared/adapters/metrics.ts';
import { breakerStates } from '../../shared/adapters/resilience.ts';
import type { Bridge } from './bridge.ts';

export interface HealthDeps {
  bridge: () => Bridge | undefined;
  pool: Pick<Pool, 'query'>;
  s3: Pick<S3Client, 'send'>;
  bucket: string;
  /** Longest a single check may take. */
  timeoutMs?: number;
}

type Check = { ok: boolean; detail?: string };

const REQUIRED_BREAKERS = new Set(['postgres', 's3']);

export function healthApp(d: HealthDeps): Hono {
  const timeoutMs = d.timeoutMs ?? 2_000;
  const app = new Hono();

  app.get('/healthz', (c) => {
    const b = d.bridge();
    return c.json({ status: 'ok', instance: b?.instance, inFlight: b?.inFlight ?? 0, draining: b?.draining ?? false });
  });

  app.get('/readyz', async (c) => {
    const b = d.bridge();
    const [postgres, s3] = await Promise.all([
      probe(timeoutMs, () => d.pool.query('SELECT 1')),
      probe(timeoutMs, () => d.s3.send(new HeadBucketCommand({ Bucket: d.bucket }))),
    ]);
    const nats: Check = !b
      ? { ok: false, detail: 'starting' }
      : b.draining
        ? { ok: false, detail: 'draining' }
        : b.natsConnected
          ? { ok: true }
          : { ok: false, detail: 'disconnected, reconnecting' };
    // Only the breakers of what every step needs make the bridge unready; the
    // others (llm, openfga...) are listed, since steps have fallbacks or fail closed.
    const breakers = breakerStates();
    const open = Object.entries(breakers).filter(([n, s]) => s === 'open' && REQUIRED_BREAKERS.has(n)).map(([n]) => n);
    const checks: Record<string, Check> = { nats, postgres, s3, breakers: open.length ? { ok: false, detail: `open: ${open.join(', ')}` } : { ok: true } };
    const down = Object.entries(checks).filter(([, v]) => !v.ok).map(([k]) => k);
    return c.json({ ready: down.length === 0, down, checks, breakers, consumers: b?.consumers() ?? [] }, down.length ? 503 : 200);
  });

  // Prometheus scrapes here (same port as the probes, loopback by default: nothing on it is secret
  // beyond scope ids, and whoever may read readiness may read these).
  app.get('/metrics', async (c) => {
    if (!metricsEnabled()) return c.text('metrics disabled (METRICS_ENABLED=false)\n', 404);
    return c.body(await metricsText(), 200, { 'Content-Type': PROMETHEUS_CONTENT_TYPE });
  });

  return app;
}

async function probe(timeoutMs: number, fn: () => Promise<unknown>): Promise<Check> {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      fn(),
      new Promise((_, reject) => (timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs))),
    ]);
    return { ok: true };
  } catch (err) {
    const e = err as { name?: string; message?: string; $metadata?: { httpStatusCode?: number } };
    const status = e.$metadata?.httpStatusCode;
    return { ok: false, detail: status ? `HTTP ${status} (${e.name})` : (e.message || e.name || String(err)) };
  } finally {
    clearTimeout(timer);
  }
}
