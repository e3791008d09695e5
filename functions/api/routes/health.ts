// Liveness and readiness (public, no token): /healthz answers while the process runs;
// /readyz checks Postgres, NATS (and the stream) and OpenFGA (store and model), each
// bounded in time, and answers 503 naming what failed.
import { createRoute } from '@hono/zod-openapi';
import type { Routes } from '../context.ts';
import { json } from '../openapi.ts';
import { Health, Ready } from '../schemas.ts';

const CHECK_TIMEOUT_MS = 2_000;

async function timed(fn: () => Promise<void>): Promise<{ ok: boolean; ms: number; error?: string }> {
  const t0 = performance.now();
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      fn(),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${CHECK_TIMEOUT_MS} ms`)), CHECK_TIMEOUT_MS);
      }),
    ]);
    return { ok: true, ms: Math.round(performance.now() - t0) };
  } catch (err) {
    return { ok: false, ms: Math.round(performance.now() - t0), error: (err as Error).message };
  } finally {
    clearTimeout(timer);
  }
}

const healthz = createRoute({
  method: 'get',
  path: '/healthz',
  summary: 'Liveness (no authentication)',
  tags: ['health'],
  responses: { 200: json(Health, 'The process runs') },
});

const readyz = createRoute({
  method: 'get',
  path: '/readyz',
  summary: 'Readiness: Postgres, NATS and OpenFGA reachable (no authentication)',
  tags: ['health'],
  responses: { 200: json(Ready, 'Ready'), 503: json(Ready, 'Not ready; the failing checks say why') },
});

export function healthRoutes(app: Routes['app'], r: Routes): void {
  const { deps } = r;
  app.openapi(healthz, (c) => c.json({ ok: true as const }, 200));

  app.openapi(readyz, async (c) => {
    const [postgres, nats, openfga] = await Promise.all([
      timed(async () => {
        await deps.db.query('SELECT 1');
      }),
      timed(async () => {
        if (deps.nc.isClosed()) throw new Error('connection closed');
        await deps.nc.flush();
        await deps.js.streams.get(deps.env.NATS_STREAM);
      }),
      timed(async () => {
        // Any definite answer means the store and model are there; allowed or not does not matter.
        const res = await deps.authz.check({ user: 'agent:api', relation: 'ingester', object: 'swarm:main' });
        if (res.reason !== 'allowed' && res.reason !== 'denied' && res.reason !== 'disabled') throw new Error(`${res.reason}: ${res.detail ?? ''}`);
      }),
    ]);
    const checks = { postgres, nats, openfga };
    const ready = postgres.ok && nats.ok && openfga.ok && !deps.shutdown?.aborted;
    c.header('Cache-Control', 'no-store');
    return c.json({ ready, checks }, ready ? 200 : 503);
  });
}
