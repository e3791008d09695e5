// Prometheus for real (services:up runs Debian's prometheus with a file_sd job scraping
// every second): the bridge as a process, a burst of messages through a step that takes
// 40 ms each, and through Prometheus' HTTP API: the consumer's lag rose, fell back to
// zero, and the step histogram counted every message.
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectBus, jetStream, type JetStreamClient, type NatsConnection } from '../../shared/adapters/bus.ts';
import { loadEnv, type Env } from '../../shared/config.ts';
import { freshDatabase, type TestDatabase } from '../support/db.ts';
import { dropStreams } from '../faults/support/bridge.ts';
import { spawnBridge, type ChildBridge } from '../faults/support/child.ts';
import { bridgeEnv, waitFor } from '../faults/support/env.ts';
import { envelope, publishAll } from '../faults/support/messages.ts';
import { createFixtureTables } from '../fixtures/functions/schema.ts';

const SLOW = 'test/fixtures/functions/slow/index.ts';
const PROMETHEUS = process.env.PROMETHEUS_URL ?? `http://127.0.0.1:${process.env.GSWARM_PROMETHEUS_PORT ?? 9090}`;
const HOME = process.env.GSWARM_HOME ?? (process.getuid?.() === 0 ? '/var/lib/governed-swarm' : join(homedir(), '.local/share/governed-swarm'));
const TARGETS = join(HOME, 'data/prometheus/targets');
const BURST = 300;

/** One instant query; the value of each series (empty: no series). */
async function query(q: string): Promise<number[]> {
  const r = await fetch(`${PROMETHEUS}/api/v1/query?query=${encodeURIComponent(q)}`);
  const body = (await r.json()) as { status: string; error?: string; data: { result: { value: [number, string] }[] } };
  if (body.status !== 'success') throw new Error(`${q}: ${body.error}`);
  return body.data.result.map((s) => Number(s.value[1]));
}

describe('Prometheus scrapes the bridge', () => {
  let db: TestDatabase;
  let env: Env;
  let nc: NatsConnection;
  let js: JetStreamClient;
  let bridge: ChildBridge | undefined;
  const run = `t${Date.now().toString(36)}${process.pid}`;
  const target = join(TARGETS, `${run}.json`);

  beforeAll(async () => {
    db = await freshDatabase();
    await createFixtureTables(db.pool);
    env = bridgeEnv(loadEnv(), { DATABASE_URL: db.url, BRIDGE_CONCURRENCY: 4, BRIDGE_BATCH: 4, METRICS_ENABLED: true });
    nc = await connectBus(env, 'prometheus-test', 'operator');
    ({ js } = await jetStream(nc));
  });
  afterAll(async () => {
    rmSync(target, { force: true });
    bridge?.proc.kill('SIGTERM');
    if (bridge) await bridge.exited;
    await nc?.close();
    await dropStreams(env);
    await db?.drop();
  });

  it('sees the lag rise and fall back to zero, and every message in the step histogram', async () => {
    const up = await fetch(`${PROMETHEUS}/-/ready`).catch(() => undefined);
    expect(up?.status, `Prometheus at ${PROMETHEUS} (npm run services:up starts it)`).toBe(200);
    bridge = await spawnBridge(env, [SLOW]);
    const port = await bridge.healthPort();
    const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    expect(text).toContain('gswarm_consumer_pending{');

    mkdirSync(TARGETS, { recursive: true });
    writeFileSync(target, JSON.stringify([{ targets: [`127.0.0.1:${port}`], labels: { run } }]));
    const sel = `run="${run}",messaging_consumer_group_name="fn-slow"`;
    await waitFor('Prometheus scraping the bridge', async () => (await query(`gswarm_consumer_pending{${sel}}`)).length === 1, { timeoutMs: 30_000, intervalMs: 250 });

    await publishAll(js, env.NATS_SUBJECT_PREFIX, Array.from({ length: BURST }, (_, i) => envelope('slow.requested', `${run}-${i}`, { ms: 40 })));
    await waitFor(
      'every message handled',
      async () => Number((await db.pool.query<{ n: string }>(`SELECT count(*) AS n FROM fixture_effects`)).rows[0]!.n) === BURST,
      { timeoutMs: 120_000, intervalMs: 250 },
    );
    // Scrapes every second, consumer info cached 2 s in the bridge: the last zero shows within a few
    // seconds. A message's effects commit before its ack reaches NATS, so ack-pending falls last.
    await waitFor(
      'lag and ack-pending back to zero and every message counted, in Prometheus',
      async () =>
        (await query(`gswarm_consumer_pending{${sel}}`))[0] === 0 &&
        (await query(`gswarm_consumer_ack_pending{${sel}}`))[0] === 0 &&
        (await query(`sum(messaging_process_duration_count{${sel},gswarm_outcome="ok"})`))[0] === BURST,
      { timeoutMs: 30_000, intervalMs: 250 },
    );
    const [peak] = await query(`max_over_time(gswarm_consumer_pending{${sel}}[10m])`);
    expect(peak).toBeGreaterThan(BURST / 10);
    expect(await query(`sum(messaging_process_duration_count{${sel}})`)).toEqual([BURST]);
    expect(await query(`sum(messaging_process_duration_bucket{${sel},le="+Inf"})`)).toEqual([BURST]);
    // Nothing slower than the 40 ms step can be faster than 25 ms.
    expect(await query(`sum(messaging_process_duration_bucket{${sel},le="0.025"})`)).toEqual([0]);
    // The Postgres figures come from the same scrape.
    expect(await query(`gswarm_scopes{run="${run}",gswarm_scope_status="blocked"}`)).toEqual([0]);
  }, 240_000);
});
