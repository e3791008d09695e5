// "Nothing accepted is lost" on a bad day (issue 10): a burst of documents into one
// scope through the real bridge process running every swarm function, on a private
// Postgres (so it can be stopped), the shared NATS (own streams and prefix), MinIO
// (own bucket), OpenFGA and facts-worker.
//   clean    the burst, no faults: the same-run baseline
//   faulted  the same burst with `kill -9` of the bridge at ~30 % and ~60 % of the
//            documents processed (a new bridge started each time) and Postgres stopped
//            for BENCH_BURST_PG_OUTAGE_MS at ~45 %
// Then, once the scope is idle (every consumer of the stream with nothing pending
// or unacknowledged): documents recorded by the facts step (context_log
// `context_doc` per doc id), exactly once (no doc id with two entries, no two
// facts_documents rows, inbox rows of the facts consumer), dead letters (table and
// stream). `/healthz` of the bridge is polled every 75 ms while a bridge is up.
// Sizes: BENCH_BURST_DOCS (1,000), BENCH_BURST_BASELINE_DOCS (= DOCS),
// BENCH_BURST_PG_OUTAGE_MS (30,000), BENCH_BURST_TIMEOUT_MS (per phase, 30 min).
import { readFileSync, readdirSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { connectBus, jetStream, type JetStreamManager } from '../../../shared/adapters/bus.ts';
import { createAuthzAdmin } from '../../../shared/adapters/authz.ts';
import { createPool } from '../../../shared/adapters/db.ts';
import { createS3, ensureBucket } from '../../../shared/adapters/s3.ts';
import { loadEnv, type Env } from '../../../shared/config.ts';
import type { Envelope } from '../../../shared/contract/envelope.ts';
import { guardPool } from '../../../shared/runtime/guarded.ts';
import { ensureScope } from '../../../shared/usecases/scopes.ts';
import { migrate } from '../../../infra/migrate.ts';
import { uniq } from '../../support/ids.ts';
import { dropStreams } from '../../faults/support/bridge.ts';
import { spawnBridge, type ChildBridge } from '../../faults/support/child.ts';
import { bridgeEnv, sleep, waitFor } from '../../faults/support/env.ts';
import { publishAll } from '../../faults/support/messages.ts';
import { freePort, PrivatePostgres } from '../../faults/support/servers.ts';
import { percentile, type BenchRow, type BenchSuite } from '../harness.ts';

const intEnv = (name: string, dflt: number) => {
  const v = Number(process.env[name] ?? dflt);
  if (!Number.isInteger(v) || v < 0) throw new Error(`${name} must be a non-negative integer`);
  return v;
};
const DOCS = intEnv('BENCH_BURST_DOCS', 1_000);
const BASELINE_DOCS = intEnv('BENCH_BURST_BASELINE_DOCS', DOCS);
const OUTAGE_MS = intEnv('BENCH_BURST_PG_OUTAGE_MS', 30_000);
const PHASE_TIMEOUT_MS = intEnv('BENCH_BURST_TIMEOUT_MS', 30 * 60_000);
const HEALTH_EVERY_MS = 75;

const SCENARIOS = new URL('../../../infra/demo/scenarios/', import.meta.url).pathname;

/** The scenario documents, each with its title line apart. */
function scenarioDocs(): { title: string; body: string }[] {
  return readdirSync(SCENARIOS, { withFileTypes: true })
    .filter((d) => d.isDirectory())
    .flatMap((d) => readdirSync(join(SCENARIOS, d.name)).filter((f) => /^\d.*\.(txt|md)$/.test(f)).map((f) => join(SCENARIOS, d.name, f)))
    .sort()
    .map((f) => {
      const text = readFileSync(f, 'utf8');
      const [first, ...rest] = text.split('\n');
      return { title: first!.replace(/^#+\s*/, '').trim() || 'Document', body: rest.join('\n') };
    });
}

/** n doc.submitted envelopes: the scenario documents in turn, figures nudged per copy so no two are alike. */
function burstEnvelopes(scope: string, run: string, n: number): Envelope[] {
  const docs = scenarioDocs();
  return Array.from({ length: n }, (_, i) => {
    const d = docs[i % docs.length]!;
    const copy = Math.floor(i / docs.length);
    const body = d.body.replace(/\b(\d{2,3})(?=[ %])/g, (x) => String(Number(x) + copy));
    const docId = `doc-${run}-${i}`;
    return {
      id: `m-${run}-${i}`,
      scope,
      type: 'doc.submitted',
      payload: { doc_id: docId, title: `${d.title} (${i + 1})`, text: `${d.title}\n${body}`, kind: 'document', submitted_by: 'bench' },
      attempt: 1,
      source: 'bench',
    } as Envelope;
  });
}

interface BurstResult {
  docs: number;
  processed: number;
  contextDocEntries: number;
  duplicateDocs: number;
  duplicateFactsRows: number;
  inboxFacts: number;
  extractionErrors: number;
  deadLetters: number;
  deadLetterCodes: string[];
  dlqStream: number;
  secondsToProcessed: number;
  secondsToIdle: number;
  health: number[];
  healthFailures: number;
  healthNot200: number;
  kills: number[];
  outage?: { atProcessed: number; ms: number };
  warnings: Map<string, number>;
}

export const suite: BenchSuite = {
  name: 'burst',
  description: `${DOCS} documents into one scope through the bridge process (every swarm function) with kill -9 twice and a ${OUTAGE_MS / 1000} s Postgres outage: processed, dead letters, double effects, time vs the same burst without faults (${BASELINE_DOCS} docs), /healthz p50/p99/max`,
  async run(): Promise<BenchRow[]> {
    const pg = await PrivatePostgres.start();
    const base: Env = { ...loadEnv(), ...pg.env, PG_CONNECT_TIMEOUT_MS: 2_000, S3_BUCKET: uniq('burst-') };
    const rows: BenchRow[] = [{ case: 'machine', metric: 'loadavg_1m_start', value: loadavg()[0]!, unit: '' }];
    const s3 = createS3(base);
    const pool = createPool(base);
    try {
      await migrate(base);
      await ensureBucket(s3, base.S3_BUCKET);
      const results: Record<string, BurstResult> = {};
      for (const [name, n, faults] of [
        ['clean', BASELINE_DOCS, false],
        ['faulted', DOCS, true],
      ] as const) {
        if (n === 0) continue;
        process.stderr.write(`[bench] burst/${name}: ${n} documents${faults ? `, kill -9 ×2, Postgres down ${OUTAGE_MS} ms` : ''}\n`);
        const r = await burst(base, pg, pool, n, faults);
        results[name] = r;
        rows.push(...resultRows(name, r));
        for (const [k, v] of [...r.warnings].sort((a, b) => b[1] - a[1]).slice(0, 12)) process.stderr.write(`[bench] burst/${name} bridge log: ${v} × ${k}\n`);
        if (r.deadLetterCodes.length) process.stderr.write(`[bench] burst/${name} dead letters: ${r.deadLetterCodes.join('; ')}\n`);
      }
      const clean = results.clean;
      const faulted = results.faulted;
      if (clean && faulted) {
        // Per document, since the two bursts may differ in size.
        const perDoc = (r: BurstResult) => r.secondsToIdle / r.docs;
        rows.push({ case: 'faulted', metric: 'time_vs_clean', value: perDoc(faulted) / perDoc(clean), unit: 'x' });
        rows.push({ case: 'faulted', metric: 'time_vs_clean_minus_outage', value: (faulted.secondsToIdle - OUTAGE_MS / 1000) / faulted.docs / perDoc(clean), unit: 'x' });
      }
      rows.push({ case: 'machine', metric: 'loadavg_1m_end', value: loadavg()[0]!, unit: '' });
    } finally {
      await pool.end().catch(() => {});
      s3.destroy();
      await pg.stop();
    }
    return rows;
  },
};

function resultRows(name: string, r: BurstResult): BenchRow[] {
  const h = [...r.health].sort((a, b) => a - b);
  return [
    { case: name, metric: 'submitted', value: r.docs, unit: 'docs' },
    { case: name, metric: 'processed', value: r.processed, unit: 'docs' },
    { case: name, metric: 'dead_letters', value: r.deadLetters, unit: 'rows' },
    { case: name, metric: 'dlq_stream', value: r.dlqStream, unit: 'msgs' },
    { case: name, metric: 'double_effects', value: r.duplicateDocs + r.duplicateFactsRows, unit: 'docs' },
    { case: name, metric: 'inbox_facts_completed', value: r.inboxFacts, unit: 'rows' },
    { case: name, metric: 'extraction_errors', value: r.extractionErrors, unit: 'docs' },
    { case: name, metric: 'seconds_to_processed', value: r.secondsToProcessed, unit: 's' },
    { case: name, metric: 'seconds_to_idle', value: r.secondsToIdle, unit: 's' },
    { case: name, metric: 'docs_per_s', value: r.docs / r.secondsToIdle, unit: 'docs/s' },
    { case: name, metric: 'healthz_p50', value: percentile(h, 50), unit: 'ms' },
    { case: name, metric: 'healthz_p99', value: percentile(h, 99), unit: 'ms' },
    { case: name, metric: 'healthz_max', value: h.at(-1) ?? Number.NaN, unit: 'ms' },
    { case: name, metric: 'healthz_samples', value: h.length, unit: '' },
    { case: name, metric: 'healthz_failed', value: r.healthFailures, unit: 'requests' },
    { case: name, metric: 'healthz_not_200', value: r.healthNot200, unit: 'requests' },
    ...r.kills.map((k, i) => ({ case: name, metric: `kill${i + 1}_at`, value: k, unit: 'docs' })),
    ...(r.outage ? [{ case: name, metric: 'pg_outage_at', value: r.outage.atProcessed, unit: 'docs' }, { case: name, metric: 'pg_outage', value: r.outage.ms / 1000, unit: 's' }] : []),
  ];
}

async function burst(base: Env, pg: PrivatePostgres, pool: ReturnType<typeof createPool>, n: number, faults: boolean): Promise<BurstResult> {
  const run = uniq('');
  const healthPort = await freePort();
  const env = bridgeEnv(base, {
    LOG_LEVEL: 'info',
    BRIDGE_HEALTH_PORT: healthPort,
    // Outages are retried on their time budget (BRIDGE_OUTAGE_BUDGET_MS); the delivery count is only a safety net.
    BRIDGE_MAX_DELIVER: 1_000,
    BRIDGE_ACK_WAIT_MS: 10_000,
    BRIDGE_NAK_BASE_MS: 200,
    BRIDGE_NAK_MAX_MS: 2_000,
    BRIDGE_SHUTDOWN_GRACE_MS: 30_000,
  });
  const scope = `burst-${run}`;
  await ensureScope(guardPool(pool, undefined, `burst-${run}`), createAuthzAdmin(env), { scope });
  const nc = await connectBus(env, 'bench-burst', 'operator');
  const { js, jsm } = await jetStream(nc);

  const warnings = new Map<string, number>();
  const tally = (c: ChildBridge) => {
    for (const l of c.logs) {
      if (typeof l.level !== 'number' || l.level < 40) continue;
      const err = (l.err ?? l.error) as { code?: string; message?: string } | undefined;
      const key = `${String(l.msg)}${err?.code ? ` [${err.code}]` : l.code ? ` [${String(l.code)}]` : ''}`;
      warnings.set(key, (warnings.get(key) ?? 0) + 1);
    }
  };

  let child = await spawnBridge(env, [], { BRIDGE_INSTANCE_ID: `${run}-0` });
  let up = true;
  const health: number[] = [];
  let healthFailures = 0;
  let healthNot200 = 0;
  let polling = true;
  const poller = (async () => {
    while (polling) {
      if (up) {
        const t0 = performance.now();
        try {
          const res = await fetch(`http://127.0.0.1:${healthPort}/healthz`, { signal: AbortSignal.timeout(5_000) });
          await res.arrayBuffer();
          if (up) {
            health.push(performance.now() - t0);
            if (res.status !== 200) healthNot200++;
          }
        } catch {
          if (up) healthFailures++;
        }
      }
      await sleep(HEALTH_EVERY_MS);
    }
  })();

  // Counted on the private Postgres; an error while it is down is "not yet".
  const processed = async () =>
    Number(
      (await pool.query<{ n: string }>(`SELECT count(DISTINCT payload->>'doc_id') AS n FROM context_log WHERE scope_id = $1 AND kind = 'context_doc'`, [scope])).rows[0]!
        .n,
    );
  const reach = (target: number) => waitFor(`${target} documents processed`, async () => (await processed()) >= target, { timeoutMs: PHASE_TIMEOUT_MS, intervalMs: 200 });

  const t0 = performance.now();
  // Progress on stderr: a full-size run takes many minutes.
  const progress = setInterval(() => {
    processed().then(
      (k) => process.stderr.write(`[bench] burst: ${k}/${n} documents after ${((performance.now() - t0) / 1000).toFixed(0)} s\n`),
      () => process.stderr.write(`[bench] burst: Postgres unreachable after ${((performance.now() - t0) / 1000).toFixed(0)} s\n`),
    );
  }, 30_000);
  const publishing = publishAll(js, env.NATS_SUBJECT_PREFIX, burstEnvelopes(scope, run, n), 64);
  const kills: number[] = [];
  let outage: BurstResult['outage'];
  const kill = async (k: number) => {
    up = false;
    child.proc.kill('SIGKILL');
    await child.exited;
    tally(child);
    kills.push(await processed());
    child = await spawnBridge(env, [], { BRIDGE_INSTANCE_ID: `${run}-${k}` });
    up = true;
  };
  try {
    if (faults) {
      await reach(Math.floor(n * 0.3));
      await kill(1);
      await reach(Math.floor(n * 0.45));
      const at = await processed();
      const d0 = performance.now();
      await pg.down('fast');
      await sleep(OUTAGE_MS);
      await pg.up();
      outage = { atProcessed: at, ms: performance.now() - d0 };
      await reach(Math.floor(n * 0.6));
      await kill(2);
    }
    await publishing;
    await reach(n);
    const secondsToProcessed = (performance.now() - t0) / 1000;
    await idle(jsm, env.NATS_STREAM);
    const secondsToIdle = (performance.now() - t0) / 1000;

    polling = false;
    await poller;
    up = false;
    child.proc.kill('SIGTERM');
    await child.exited;
    tally(child);

    const one = async (sql: string, params: unknown[] = [scope]) => Number((await pool.query<{ n: string }>(sql, params)).rows[0]!.n);
    const dead = await pool.query<{ consumer: string; error_code: string; reason: string }>(`SELECT consumer, error_code, reason FROM dead_letters WHERE scope_id = $1 ORDER BY id`, [scope]);
    const dlq = await jsm.streams.info(env.NATS_DLQ_STREAM).then((i) => i.state.messages, () => 0);
    return {
      docs: n,
      processed: await processed(),
      contextDocEntries: await one(`SELECT count(*) AS n FROM context_log WHERE scope_id = $1 AND kind = 'context_doc'`),
      duplicateDocs: await one(
        `SELECT count(*) AS n FROM (SELECT payload->>'doc_id' FROM context_log WHERE scope_id = $1 AND kind = 'context_doc' GROUP BY 1 HAVING count(*) > 1) d`,
      ),
      duplicateFactsRows: await one(`SELECT count(*) AS n FROM (SELECT doc_id FROM facts_documents WHERE scope_id = $1 GROUP BY 1 HAVING count(*) > 1) d`),
      inboxFacts: await one(
        `SELECT count(DISTINCT message_id) AS n FROM inbox WHERE consumer IN ('facts', 'fn-facts') AND status = 'completed' AND message_id LIKE $1`,
        [`m-${run}-%`],
      ),
      extractionErrors: await one(`SELECT count(*) AS n FROM context_log WHERE scope_id = $1 AND kind = 'context_doc' AND payload ? 'extraction_error'`),
      // Of every consumer (facts and the rest of the cycle) on this burst's scope.
      deadLetters: dead.rows.length,
      deadLetterCodes: dead.rows.map((d) => `${d.consumer} ${d.error_code}: ${d.reason.slice(0, 200)}`),
      dlqStream: dlq,
      secondsToProcessed,
      secondsToIdle,
      health,
      healthFailures,
      healthNot200,
      kills,
      outage,
      warnings,
    };
  } finally {
    clearInterval(progress);
    polling = false;
    if (child.proc.exitCode === null && child.proc.signalCode === null) {
      child.proc.kill('SIGKILL');
      await child.exited;
    }
    await nc.close().catch(() => {});
    await dropStreams(env);
  }
}

/** Every consumer of the stream has nothing pending and nothing unacknowledged, three checks in a row a second apart. */
async function idle(jsm: JetStreamManager, stream: string): Promise<void> {
  let quiet = 0;
  await waitFor(
    'the stream to be idle',
    async () => {
      let busy = false;
      for await (const c of jsm.consumers.list(stream)) if (c.num_pending > 0 || c.num_ack_pending > 0) busy = true;
      quiet = busy ? 0 : quiet + 1;
      return quiet >= 3;
    },
    { timeoutMs: PHASE_TIMEOUT_MS, intervalMs: 1_000 },
  );
}
