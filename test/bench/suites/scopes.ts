// Many scopes at once (issue 11): BENCH_SCOPES scopes × BENCH_SCOPE_DOCS documents
// (defaults 100 × 20), every doc.submitted published together (interleaved across
// scopes, as fast as the server acks), through the real bridge process
// (infra/bridge/main.ts, every swarm function, its own bus identities) on the shared
// NATS (streams, prefix and deployment id of the run's own), a fresh database on the
// shared Postgres, MinIO (own bucket), OpenFGA and the facts-worker.
//   1-bridge   one bridge process: the same-run baseline
//   2-bridges  two bridge processes on the same durable consumers (same deployment id
//              and streams, different BRIDGE_INSTANCE_ID), fresh scopes and streams
// Done: every consumer of the stream has nothing pending or unacknowledged, three
// checks in a row a second apart (the scopes are back to idle: no cycle has a
// message left), and every document has a completed inbox record of the facts step.
// Wall time: first publish → the last inbox record completed by any step (Postgres
// clock; the idle polling only decides when to stop). Per document:
//   facts latency  publish → its facts inbox record completed (recorded, extracted,
//                  reconciled, committed)
//   cycle latency  publish → the end of the first cycle that covers it: the first
//                  transition into ContextIngested after the first transition into
//                  FactsExtracted that follows the document's context_doc entry (drift
//                  runs on that transition, so it sees the document). A scope held
//                  for human review has no such cycle: counted in docs_without_cycle.
//   settled        the cycle latency, or for a document without a cycle, publish → the
//                  last inbox record its scope completed (the swarm's work for it is
//                  over; the scope waits for a human)
// Postgres transactions per document: pg_stat_database xact_commit + xact_rollback of
// the run's database between the scopes being created and the bridges having exited
// (a backend's statistics are flushed by then). Messages per document: the stream's
// messages (fresh stream, documents included) / documents. Peak RSS: VmHWM of each
// bridge process just before it is stopped; bridge CPU: utime + stime of the bridge
// processes (the facts-worker's embeddings and Postgres are not in it).
// runOnce (sizes as parameters) is also what the `e2e` suite runs; it further reads the
// CPU of every local service over the run (test/bench/proc.ts) and samples what the
// run's Postgres backends are doing (pg_stat_activity, twice a second).
import { readFileSync, readdirSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { connectBus, jetStream, publishEnvelope, type JetStreamClient, type JetStreamManager } from '../../../shared/adapters/bus.ts';
import { createAuthzAdmin } from '../../../shared/adapters/authz.ts';
import { createPool } from '../../../shared/adapters/db.ts';
import { createS3, ensureBucket } from '../../../shared/adapters/s3.ts';
import { loadEnv, type Env } from '../../../shared/config.ts';
import type { Envelope } from '../../../shared/contract/envelope.ts';
import { guardPool } from '../../../shared/runtime/guarded.ts';
import { ensureScope } from '../../../shared/usecases/scopes.ts';
import { freshDatabase, prepareTemplate } from '../../support/db.ts';
import { uniq } from '../../support/ids.ts';
import { spawnBridge, type ChildBridge } from '../../faults/support/child.ts';
import { sleep, waitFor } from '../../faults/support/env.ts';
import { percentile, type BenchRow, type BenchSuite } from '../harness.ts';
import { cpuBetween, processCpu, readCpu, serviceProbes, threadCpu, type CpuProbe, type CpuUsage } from '../proc.ts';

export const intEnv = (name: string, dflt: number, min = 0) => {
  const v = Number(process.env[name] ?? dflt);
  if (!Number.isInteger(v) || v < min) throw new Error(`${name} must be an integer ≥ ${min}`);
  return v;
};
const SCOPES = intEnv('BENCH_SCOPES', 100, 1);
const DOCS = intEnv('BENCH_SCOPE_DOCS', 20, 1);
const TIMEOUT_MS = intEnv('BENCH_SCOPES_TIMEOUT_MS', 30 * 60_000, 1_000);

const SCENARIOS = new URL('../../../infra/demo/scenarios/', import.meta.url).pathname;

interface Scenario {
  name: string;
  docs: { title: string; body: string }[];
}

function scenarios(): Scenario[] {
  return readdirSync(SCENARIOS, { withFileTypes: true })
    .filter((d) => d.isDirectory())
    .map((d) => d.name)
    .sort()
    .map((name) => ({
      name,
      docs: readdirSync(join(SCENARIOS, name))
        .filter((f) => /^\d.*\.(txt|md)$/.test(f))
        .sort()
        .map((f) => {
          const [first, ...rest] = readFileSync(join(SCENARIOS, name, f), 'utf8').split('\n');
          return { title: first!.replace(/^#+\s*/, '').trim() || 'Document', body: rest.join('\n') };
        }),
    }));
}

/**
 * Scope i reads scenario i mod 8, its documents in order, again and again with the
 * figures nudged by the round and the scope (a later round restates the case with other
 * numbers, as revised filings do; no two scopes hold the same text).
 */
export function documents(scopes: string[], run: string, docs = DOCS): Envelope[] {
  const all = scenarios();
  const out: Envelope[] = [];
  // Interleaved: document j of every scope, then j + 1, so all scopes are busy at once.
  for (let j = 0; j < docs; j++) {
    scopes.forEach((scope, i) => {
      const sc = all[i % all.length]!;
      const d = sc.docs[j % sc.docs.length]!;
      const round = Math.floor(j / sc.docs.length);
      const nudge = round + (i % 7);
      const body = d.body.replace(/\b(\d{2,3})(?=[ %])/g, (x) => String(Number(x) + nudge));
      out.push({
        id: `m-${run}-${i}-${j}`,
        scope,
        type: 'doc.submitted',
        payload: { doc_id: `${sc.name}-${j}`, title: `${d.title} (${j + 1})`, text: `${d.title}\n${body}`, kind: 'document', submitted_by: 'bench' },
        attempt: 1,
        source: 'bench',
      } as Envelope);
    });
  }
  return out;
}

export interface RunSpec {
  scopes: number;
  /** Documents per scope. */
  docs: number;
  bridges: number;
  /** For the progress lines on stderr. */
  label: string;
  timeoutMs?: number;
}

/** Average number of the run's Postgres backends in each state over the samples. */
export interface PgActivity {
  samples: number;
  /** Running a statement (no wait event). */
  running: number;
  /** Waiting for a lock (advisory included). */
  lockWait: number;
  /** Of which: an advisory lock (the facts step holds one per scope for its transaction). */
  advisoryWait: number;
  /** Other waits of an active backend (IO, LWLock, ...). */
  otherWait: number;
  /** A transaction open while the client works (or its next statement is on the way). */
  idleInTransaction: number;
}

export interface RunResult {
  bridges: number;
  docs: number;
  publishSeconds: number;
  wallSeconds: number;
  idleSeconds: number;
  facts: number[];
  cycle: number[];
  settled: number[];
  cpuSeconds: number;
  docsWithoutFacts: number;
  docsWithoutCycle: number;
  xacts: number;
  messages: number;
  byType: Map<string, number>;
  dlqStream: number;
  deadLetters: string[];
  redelivered: number;
  peakRssMb: number[];
  logs: Map<string, number>;
  finalNodes: Map<string, number>;
  /** CPU of the bridges (together, and their main threads), the bench process and each local service, first publish → idle. */
  cpu: CpuUsage;
  /** Probes that are a part of another (not added when summing what is attributed). */
  cpuParts: Set<string>;
  pg: PgActivity;
}

export const suite: BenchSuite = {
  name: 'scopes',
  description: `${SCOPES} scopes × ${DOCS} documents submitted together through the bridge process (every swarm function), one bridge vs two on the same consumers: documents/s, publish→facts-done and publish→cycle-done p50/p99, Postgres transactions and messages per document, peak RSS`,
  async run(): Promise<BenchRow[]> {
    const base: Env = { ...loadEnv(), S3_BUCKET: uniq('scopes-') };
    await prepareTemplate(base);
    await ensureBucket(createS3(base), base.S3_BUCKET);
    const rows: BenchRow[] = [{ case: 'machine', metric: 'loadavg_1m_start', value: loadavg()[0]!, unit: '' }];
    const results: RunResult[] = [];
    for (const bridges of [1, 2]) {
      const name = caseName(bridges);
      process.stderr.write(`[bench] scopes: ${SCOPES} scopes × ${DOCS} documents, ${bridges} bridge process(es)\n`);
      const r = await runOnce(base, { scopes: SCOPES, docs: DOCS, bridges, label: `scopes/${name}`, timeoutMs: TIMEOUT_MS });
      results.push(r);
      rows.push(...resultRows(name, r));
      reportRun(`scopes/${name}`, r);
    }
    const [one, two] = results as [RunResult, RunResult];
    rows.push(
      ...versusOneBridge('2-bridges', one, two, ['facts', 'cycle', 'settled']),
      { case: 'machine', metric: 'loadavg_1m_end', value: loadavg()[0]!, unit: '' },
    );
    return rows;
  },
};

/** Two bridges against one: the speed-up, and the latency percentiles of each series as ratios. */
export function versusOneBridge(name: string, one: RunResult, two: RunResult, series: readonly ('facts' | 'cycle' | 'settled')[]): BenchRow[] {
  const rate = (r: RunResult) => r.docs / r.wallSeconds;
  const p = (xs: number[], q: number) => percentile([...xs].sort((a, b) => a - b), q);
  return [
    { case: name, metric: 'speedup_docs_per_s', value: rate(two) / rate(one), unit: 'x' },
    ...series.flatMap((k) => [50, 99].map((q) => ({ case: name, metric: `${k}_p${q}_vs_1`, value: p(two[k], q) / p(one[k], q), unit: 'x' }))),
  ];
}

const caseName = (bridges: number) => (bridges === 1 ? '1-bridge' : `${bridges}-bridges`);

/** What a run's rows do not hold, on stderr: messages by type, final scope states, warnings, dead letters. */
export function reportRun(label: string, r: RunResult): void {
  process.stderr.write(`[bench] ${label} messages by type: ${[...r.byType].sort((a, b) => b[1] - a[1]).map(([t, n]) => `${t} ${n}`).join(', ')}\n`);
  process.stderr.write(`[bench] ${label} scope states at the end: ${[...r.finalNodes].map(([k, n]) => `${k} ${n}`).join(', ')}\n`);
  for (const [k, v] of [...r.logs].sort((a, b) => b[1] - a[1]).slice(0, 15)) process.stderr.write(`[bench] ${label} bridge log: ${v} × ${k}\n`);
  for (const d of r.deadLetters.slice(0, 15)) process.stderr.write(`[bench] ${label} dead letter: ${d}\n`);
}

export function resultRows(name: string, r: RunResult): BenchRow[] {
  const s = (xs: number[]) => [...xs].sort((a, b) => a - b);
  const f = s(r.facts);
  const c = s(r.cycle);
  return [
    { case: name, metric: 'documents', value: r.docs, unit: 'docs' },
    { case: name, metric: 'publish_time', value: r.publishSeconds, unit: 's' },
    { case: name, metric: 'wall_time', value: r.wallSeconds, unit: 's' },
    { case: name, metric: 'time_to_idle', value: r.idleSeconds, unit: 's' },
    { case: name, metric: 'docs_per_s', value: r.docs / r.wallSeconds, unit: 'docs/s' },
    { case: name, metric: 'facts_p50', value: percentile(f, 50), unit: 'ms' },
    { case: name, metric: 'facts_p99', value: percentile(f, 99), unit: 'ms' },
    { case: name, metric: 'cycle_p50', value: percentile(c, 50), unit: 'ms' },
    { case: name, metric: 'cycle_p99', value: percentile(c, 99), unit: 'ms' },
    { case: name, metric: 'settled_p50', value: percentile(s(r.settled), 50), unit: 'ms' },
    { case: name, metric: 'settled_p99', value: percentile(s(r.settled), 99), unit: 'ms' },
    { case: name, metric: 'docs_without_facts', value: r.docsWithoutFacts, unit: 'docs' },
    { case: name, metric: 'docs_without_cycle', value: r.docsWithoutCycle, unit: 'docs' },
    { case: name, metric: 'bridge_cpu_per_doc', value: (r.cpuSeconds * 1000) / r.docs, unit: 'ms' },
    { case: name, metric: 'pg_xact_per_doc', value: r.xacts / r.docs, unit: 'xact' },
    { case: name, metric: 'msgs_per_doc', value: r.messages / r.docs, unit: 'msgs' },
    { case: name, metric: 'redelivered', value: r.redelivered, unit: 'msgs' },
    { case: name, metric: 'dead_letters', value: r.deadLetters.length, unit: 'rows' },
    { case: name, metric: 'dlq_stream', value: r.dlqStream, unit: 'msgs' },
    { case: name, metric: 'warn_or_error_logs', value: [...r.logs.values()].reduce((a, b) => a + b, 0), unit: 'lines' },
    ...r.peakRssMb.map((m, i) => ({ case: name, metric: `peak_rss_bridge${i + 1}`, value: m, unit: 'MB' })),
  ];
}

export async function runOnce(base: Env, spec: RunSpec): Promise<RunResult> {
  const { bridges } = spec;
  const run = uniq('');
  const db = await freshDatabase();
  const env: Env = {
    ...base,
    DATABASE_URL: db.url,
    // The bridge's own bus identities (BRIDGE_NATS_IDENTITY=bridge, per-step credentials) stay at their defaults.
    NATS_STREAM: `SCOPES_${run}`,
    NATS_DLQ_STREAM: `SCOPES_${run}_DLQ`,
    NATS_SUBJECT_PREFIX: `scopes${run}`,
    NATS_STREAM_MAX_AGE_MS: 3_600_000,
    NATS_DLQ_MAX_AGE_MS: 3_600_000,
    BRIDGE_DEPLOYMENT_ID: `bench-scopes-${run}`,
    BRIDGE_HEALTH_PORT: 0,
    BRIDGE_INBOX_CLEANUP_MS: 0,
    // No timer ticks: only the documents' own work is measured.
    BRIDGE_TICK_MS: 0,
    LOG_LEVEL: 'info',
  };
  // The bench's own reads go through another database, so that they are not counted.
  const stats = createPool({ ...base, PG_POOL_MAX: 1 });
  const nc = await connectBus(env, 'bench-scopes', 'operator');
  const { js, jsm } = await jetStream(nc);
  const children: ChildBridge[] = [];
  let pg: { stop(): Promise<PgActivity> } | undefined;
  try {
    // Scopes created and linked in OpenFGA (as the API does) on a pool closed before the baseline.
    const scopePool = createPool({ ...env, PG_POOL_MAX: 4 });
    const admin = createAuthzAdmin(env);
    const scopes = Array.from({ length: spec.scopes }, (_, i) => `sc-${run}-${i}`);
    const guarded = guardPool(scopePool, undefined, `scopes-${run}`);
    for (let i = 0; i < scopes.length; i += 8) await Promise.all(scopes.slice(i, i + 8).map((scope) => ensureScope(guarded, admin, { scope })));
    await scopePool.end();

    // The first bridge provisions the streams and consumers; the second joins them.
    for (let k = 0; k < bridges; k++) children.push(await spawnBridge(env, [], { BRIDGE_INSTANCE_ID: `${run}-${k}` }));
    const xact0 = await xacts(stats, db.name);
    // Start-up (loading modules, the extractor's model) is not the documents' work.
    const cpu0 = children.reduce((a, c) => a + processCpu(c.proc.pid!), 0);
    const pids = children.map((c) => c.proc.pid!);
    const probes: CpuProbe[] = [
      { name: 'bridges', cpu: () => pids.reduce((a, p) => a + processCpu(p), 0) },
      { name: 'bridges_main_thread', cpu: () => pids.reduce((a, p) => a + threadCpu(p, p), 0) },
      { name: 'bench', cpu: () => processCpu(process.pid) },
      ...serviceProbes(),
    ];

    const envs = documents(scopes, run, spec.docs);
    const publishedAt = new Map<string, number>();
    pg = samplePg(stats, db.name);
    const c0 = readCpu(probes);
    const t0 = Date.now();
    await publishTimed(js, env.NATS_SUBJECT_PREFIX, envs, publishedAt);
    const publishSeconds = (Date.now() - t0) / 1000;

    const progress = setInterval(() => {
      jsm.consumers.info(env.NATS_STREAM, 'fn-facts').then(
        (c) => process.stderr.write(`[bench] ${spec.label}: facts consumer ${c.num_pending} pending, ${c.num_ack_pending} in flight after ${((Date.now() - t0) / 1000).toFixed(0)} s\n`),
        () => {},
      );
    }, 30_000);
    try {
      await idle(jsm, env.NATS_STREAM, spec.timeoutMs);
    } finally {
      clearInterval(progress);
    }
    const idleSeconds = (Date.now() - t0) / 1000;
    const cpu = cpuBetween(c0, readCpu(probes));
    const pgActivity = await pg.stop();

    const peakRssMb = children.map((c) => vmHwmMb(c.proc.pid!));
    const cpuSeconds = children.reduce((a, c) => a + processCpu(c.proc.pid!), 0) - cpu0;
    for (const c of children) c.proc.kill('SIGTERM');
    await Promise.all(children.map((c) => c.exited));
    const xact1 = await settledXacts(stats, db.name);

    const ids = envs.map((e) => e.id);
    const factsRows = await db.pool.query<{ message_id: string; at: Date }>(
      `SELECT message_id, completed_at AS at FROM inbox WHERE consumer = 'facts' AND status = 'completed' AND message_id = ANY($1)`,
      [ids],
    );
    const facts = factsRows.rows.map((r) => r.at.getTime() - publishedAt.get(r.message_id)!);
    const last = await db.pool.query<{ at: Date }>(`SELECT max(completed_at) AS at FROM inbox WHERE status = 'completed'`);
    const cycleRows = await db.pool.query<{ message_id: string; at: Date | null }>(
      `WITH d AS (SELECT scope_id, seq, message_id FROM context_log WHERE kind = 'context_doc' AND message_id = ANY($1)),
            t AS (SELECT scope_id, seq, payload->>'to' AS node, created_at FROM context_log WHERE kind = 'state_transition')
       SELECT d.message_id,
              (SELECT t2.created_at FROM t t2
                WHERE t2.scope_id = d.scope_id AND t2.node = 'ContextIngested'
                  AND t2.seq > (SELECT min(t1.seq) FROM t t1 WHERE t1.scope_id = d.scope_id AND t1.node = 'FactsExtracted' AND t1.seq > d.seq)
                ORDER BY t2.seq LIMIT 1) AS at
         FROM d`,
      [ids],
    );
    const cycle = cycleRows.rows.filter((r) => r.at).map((r) => r.at!.getTime() - publishedAt.get(r.message_id)!);
    // A document with no cycle of its own is settled when its scope last did anything (it then waits for a human).
    const scopeLast = await db.pool.query<{ scope_id: string; at: Date }>(`SELECT scope_id, max(completed_at) AS at FROM inbox WHERE status = 'completed' GROUP BY 1`);
    const lastOf = new Map(scopeLast.rows.map((r) => [r.scope_id, r.at.getTime()]));
    const cycleAt = new Map(cycleRows.rows.filter((r) => r.at).map((r) => [r.message_id, r.at!.getTime()]));
    const settled = envs.map((e) => (cycleAt.get(e.id) ?? lastOf.get(e.scope) ?? Number.NaN) - publishedAt.get(e.id)!).filter(Number.isFinite);
    const dead = await db.pool.query<{ consumer: string; error_code: string; reason: string }>(`SELECT consumer, error_code, reason FROM dead_letters ORDER BY id`);
    const nodes = await db.pool.query<{ node: string; status: string; n: string }>(
      `SELECT s.node, sc.status, count(*) AS n FROM scope_state s JOIN scopes sc USING (scope_id) GROUP BY 1, 2 ORDER BY 3 DESC`,
    );
    const info = await jsm.streams.info(env.NATS_STREAM, { subjects_filter: '>' });
    const byType = new Map<string, number>();
    for (const [subject, n] of Object.entries(info.state.subjects ?? {})) {
      const type = subject.split('.').slice(2).join('.');
      byType.set(type, (byType.get(type) ?? 0) + n);
    }
    let redelivered = 0;
    for await (const c of jsm.consumers.list(env.NATS_STREAM)) redelivered += c.num_redelivered;
    const dlqStream = await jsm.streams.info(env.NATS_DLQ_STREAM).then((i) => i.state.messages, () => 0);

    const logs = new Map<string, number>();
    for (const c of children) {
      for (const l of c.logs) {
        if (typeof l.level !== 'number' || l.level < 40) continue;
        const err = (l.err ?? l.error) as { code?: string; message?: string } | undefined;
        const key = `${String(l.msg)}${err?.code ? ` [${err.code}]` : l.code ? ` [${String(l.code)}]` : ''}${l.consumer ? ` (${String(l.consumer)})` : ''}`;
        logs.set(key, (logs.get(key) ?? 0) + 1);
      }
    }
    return {
      bridges,
      docs: envs.length,
      publishSeconds,
      wallSeconds: (last.rows[0]!.at!.getTime() - t0) / 1000,
      idleSeconds,
      facts,
      cycle,
      settled,
      cpuSeconds,
      docsWithoutFacts: envs.length - facts.length,
      docsWithoutCycle: envs.length - cycle.length,
      xacts: xact1 - xact0,
      messages: info.state.messages,
      byType,
      dlqStream,
      deadLetters: dead.rows.map((d) => `${d.consumer} ${d.error_code}: ${d.reason.slice(0, 200)}`),
      redelivered,
      peakRssMb,
      logs,
      finalNodes: new Map(nodes.rows.map((r) => [`${r.node}/${r.status}`, Number(r.n)])),
      cpu,
      cpuParts: new Set(['bridges_main_thread']),
      pg: pgActivity,
    };
  } finally {
    await pg?.stop();
    for (const c of children) {
      if (c.proc.exitCode === null && c.proc.signalCode === null) {
        c.proc.kill('SIGKILL');
        await c.exited;
      }
    }
    await jsm.streams.delete(env.NATS_STREAM).catch(() => {});
    await jsm.streams.delete(env.NATS_DLQ_STREAM).catch(() => {});
    await nc.close().catch(() => {});
    await stats.end().catch(() => {});
    await db.drop();
  }
}

/** Publish with a window of outstanding acks; each message's time is taken just before it is sent. */
export async function publishTimed(js: JetStreamClient, prefix: string, envs: readonly Envelope[], at: Map<string, number>, window = 256): Promise<void> {
  const pending = new Set<Promise<unknown>>();
  for (const e of envs) {
    at.set(e.id, Date.now());
    const p: Promise<unknown> = publishEnvelope(js, prefix, e).finally(() => pending.delete(p));
    pending.add(p);
    if (pending.size >= window) await Promise.race(pending);
  }
  await Promise.all(pending);
}

async function xacts(pool: ReturnType<typeof createPool>, dbName: string): Promise<number> {
  const { rows } = await pool.query<{ n: string }>(`SELECT xact_commit + xact_rollback AS n FROM pg_stat_database WHERE datname = $1`, [dbName]);
  return Number(rows[0]!.n);
}

/** The count once it stops moving: exited backends' statistics reach the shared counters a moment later. */
async function settledXacts(pool: ReturnType<typeof createPool>, dbName: string): Promise<number> {
  let prev = await xacts(pool, dbName);
  for (let i = 0; i < 20; i++) {
    await sleep(500);
    const cur = await xacts(pool, dbName);
    if (cur === prev && i >= 2) return cur;
    prev = cur;
  }
  return prev;
}

function vmHwmMb(pid: number): number {
  try {
    const m = /^VmHWM:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : Number.NaN;
  } catch {
    return Number.NaN;
  }
}

/**
 * What the run database's backends are doing, twice a second until stopped (on the
 * bench's own connection to another database, so that the samples are not counted in
 * the run's transactions).
 */
function samplePg(pool: ReturnType<typeof createPool>, dbName: string): { stop(): Promise<PgActivity> } {
  const sum = { samples: 0, running: 0, lockWait: 0, advisoryWait: 0, otherWait: 0, idleInTransaction: 0 };
  let stopped = false;
  const loop = (async () => {
    while (!stopped) {
      try {
        const { rows } = await pool.query<{ running: string; lock: string; advisory: string; other: string; idle_tx: string }>(
          `SELECT count(*) FILTER (WHERE state = 'active' AND wait_event_type IS NULL) AS running,
                  count(*) FILTER (WHERE state = 'active' AND wait_event_type = 'Lock') AS lock,
                  count(*) FILTER (WHERE state = 'active' AND wait_event_type = 'Lock' AND wait_event = 'advisory') AS advisory,
                  count(*) FILTER (WHERE state = 'active' AND wait_event_type IS NOT NULL AND wait_event_type <> 'Lock') AS other,
                  count(*) FILTER (WHERE state LIKE 'idle in transaction%') AS idle_tx
             FROM pg_stat_activity WHERE datname = $1`,
          [dbName],
        );
        const r = rows[0]!;
        sum.samples++;
        sum.running += Number(r.running);
        sum.lockWait += Number(r.lock);
        sum.advisoryWait += Number(r.advisory);
        sum.otherWait += Number(r.other);
        sum.idleInTransaction += Number(r.idle_tx);
      } catch {
        // A missed sample is no result; the next one is taken as usual.
      }
      await sleep(500);
    }
  })();
  return {
    async stop() {
      stopped = true;
      await loop;
      const n = Math.max(1, sum.samples);
      return { samples: sum.samples, running: sum.running / n, lockWait: sum.lockWait / n, advisoryWait: sum.advisoryWait / n, otherWait: sum.otherWait / n, idleInTransaction: sum.idleInTransaction / n };
    },
  };
}

/** Every consumer of the stream has nothing pending and nothing unacknowledged, three checks in a row a second apart. */
export async function idle(jsm: JetStreamManager, stream: string, timeoutMs = TIMEOUT_MS): Promise<void> {
  let quiet = 0;
  await waitFor(
    'the stream to be idle',
    async () => {
      let busy = false;
      for await (const c of jsm.consumers.list(stream)) if (c.num_pending > 0 || c.num_ack_pending > 0) busy = true;
      quiet = busy ? 0 : quiet + 1;
      return quiet >= 3;
    },
    { timeoutMs, intervalMs: 1_000 },
  );
}
