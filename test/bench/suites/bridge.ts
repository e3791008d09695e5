// The message runtime, in one run on the same NATS server:
//   raw           a raw nats.js consume() → JSON.parse → ack loop, no bridge (the baseline)
//   noop          the bridge, no-op function in-process (BRIDGE_IN_PROCESS=direct, the default)
//   noop-fetch    the same through app.fetch (a Request and a Response per message)
//   inbox-optim   the bridge, counter function, optimistic inbox, one-statement commit
//                 (the effect and the inbox record in one SQL statement)
//   inbox-claim-ungrouped  the bridge, counter function, inbox claim then one
//                 transaction per message (INBOX_GROUP_MAX=1: claim · BEGIN+mark ·
//                 insert · result+COMMIT, 4 round trips a message)
//   inbox-claim   the same with grouping (the default): one claim statement per
//                 group, one transaction per group (BEGIN+mark · each insert ·
//                 results+COMMIT); rows claims_per_group / commits_per_group
//   http          the bridge, no-op function over HTTP (@hono/node-server in its own process)
// Each case runs in its own child processes (clean RSS and GC figures) on its own
// streams. Throughput: a preloaded backlog drained (warm-up excluded), median of
// three rounds, each by a fresh child (throughput_spread: (max-min)/median). Latency:
// publish → ack with messages published at a paced rate: 1,000 msg/s (500 for
// the inbox cases), or half the measured throughput when that is lower, so that
// it measures a message's latency rather than a queue's. GC share:
// PerformanceObserver 'gc' entries over the throughput phase. Peak RSS:
// process.resourceUsage().maxRSS of the child. CPU per message: process.cpuUsage()
// of the child over the throughput phase.
import { fork, spawn, type ChildProcess } from 'node:child_process';
import { loadavg } from 'node:os';
import { PerformanceObserver } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { AckPolicy, DeliverPolicy } from '@nats-io/jetstream';
import { connectBus, jetStream, publishEnvelope, type JetStreamClient } from '../../../shared/adapters/bus.ts';
import { loadEnv, type Env } from '../../../shared/config.ts';
import type { GroupingStats } from '../../../shared/runtime/inbox/grouping.ts';
import { percentile, type BenchRow, type BenchSuite } from '../harness.ts';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const SELF = fileURLToPath(import.meta.url);
const PACED_SECONDS = 3;
const ROUNDS = Number(process.env.BENCH_BRIDGE_ROUNDS ?? 3);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

interface CaseSpec {
  name: string;
  kind: 'raw' | 'bridge';
  fn?: string; // fixture module
  type: string;
  http?: boolean;
  inProcess?: 'direct' | 'fetch';
  warmup: number;
  measured: number;
  /** Publish rate of the latency phase. */
  paced: number;
  /** Settings of this case on top of BRIDGE. */
  env?: Partial<Record<keyof Env, string | number>>;
  /** Record metrics (as infra/bridge/main.ts does) and collect them every second, as a Prometheus scrape would. */
  metrics?: boolean;
}

const NOOP = 'test/fixtures/functions/noop/index.ts';
const CASES: CaseSpec[] = [
  { name: 'raw', kind: 'raw', type: 'bench.noop', warmup: 5_000, measured: 50_000, paced: 1_000 },
  { name: 'noop', kind: 'bridge', fn: NOOP, type: 'bench.noop', inProcess: 'direct', warmup: 5_000, measured: 50_000, paced: 1_000 },
  { name: 'noop-metrics', kind: 'bridge', fn: NOOP, type: 'bench.noop', inProcess: 'direct', warmup: 5_000, measured: 50_000, paced: 1_000, metrics: true },
  { name: 'noop-fetch', kind: 'bridge', fn: NOOP, type: 'bench.noop', inProcess: 'fetch', warmup: 2_000, measured: 20_000, paced: 1_000 },
  { name: 'inbox-optim', kind: 'bridge', fn: 'test/fixtures/functions/counter-fast/index.ts', type: 'count.fast', warmup: 1_000, measured: 10_000, paced: 500 },
  { name: 'inbox-claim-ungrouped', kind: 'bridge', fn: 'test/fixtures/functions/counter/index.ts', type: 'count.requested', warmup: 1_000, measured: 6_000, paced: 500, env: { INBOX_GROUP_MAX: 1 } },
  { name: 'inbox-claim', kind: 'bridge', fn: 'test/fixtures/functions/counter/index.ts', type: 'count.requested', warmup: 1_000, measured: 6_000, paced: 500 },
  { name: 'http', kind: 'bridge', fn: NOOP, type: 'bench.noop', http: true, warmup: 2_000, measured: 20_000, paced: 1_000 },
];

/** Bridge settings for every bridge case (the reference's batch of 10). */
const BRIDGE = { BRIDGE_BATCH: 10, BRIDGE_CONCURRENCY: 64, BRIDGE_MAX_IN_FLIGHT: 256, BRIDGE_MAX_ACK_PENDING: 10_000, PG_POOL_MAX: 10 };

type FromChild =
  | { type: 'drained'; rate: number; gcShare: number; cpuUsPerMsg: number; groups?: GroupingStats }
  | { type: 'done'; settled: [number, number][]; residence: number[]; maxRssMb: number };

export const suite: BenchSuite = {
  name: 'bridge',
  description: 'raw nats.js consume/ack loop vs the bridge (no-op in-process direct and via app.fetch, Postgres inbox optimistic and claim, no-op over HTTP): msg/s draining a backlog; publish→ack p50/p99 at a paced rate; peak RSS; GC share; CPU per message',
  async run(): Promise<BenchRow[]> {
    const base = loadEnv();
    const { prepareTemplate, freshDatabase } = await import('../../support/db.ts');
    const { createFixtureTables } = await import('../../fixtures/functions/schema.ts');
    await prepareTemplate(base);
    const db = await freshDatabase();
    await createFixtureTables(db.pool);
    const nc = await connectBus(base, 'bench-bridge', 'operator');
    const { js, jsm } = await jetStream(nc);
    const rows: BenchRow[] = [{ case: 'machine', metric: 'loadavg_1m_start', value: loadavg()[0]!, unit: '' }];
    const results: Record<string, { rate: number; p50: number; p99: number; paced: number }> = {};
    try {
      // BENCH_BRIDGE_CASES=raw,noop runs a subset (while working on one path).
      const only = process.env.BENCH_BRIDGE_CASES?.split(',');
      for (const c of CASES.filter((x) => !only || only.includes(x.name))) {
        // Throughput is the median of ROUNDS drains, each by a fresh child on a fresh
        // stream (this machine is shared and noisy); the last round also measures latency.
        const drains: Extract<FromChild, { type: 'drained' }>[] = [];
        let done: Extract<FromChild, { type: 'done' }> | undefined;
        let published = new Map<number, number>();
        let pacedRate = c.paced;
        for (let round = 0; round < ROUNDS; round++) {
          const last = round === ROUNDS - 1;
          const id = Math.random().toString(36).slice(2, 8);
          const env: Env = {
            ...base,
            ...BRIDGE,
            DATABASE_URL: db.url,
            LOG_LEVEL: 'warn',
            NATS_STREAM: `BENCH_${id}`,
            NATS_DLQ_STREAM: `BENCH_${id}_DLQ`,
            NATS_SUBJECT_PREFIX: `bench${id}`,
            BRIDGE_DEPLOYMENT_ID: `bench-${id}`,
            BRIDGE_HEALTH_PORT: 0,
            BRIDGE_INBOX_CLEANUP_MS: 0,
          };
          // The stream exists before the backlog is published; the raw case makes its own consumer.
          await jsm.streams.add({ name: env.NATS_STREAM, subjects: [`${env.NATS_SUBJECT_PREFIX}.>`, `${env.NATS_SUBJECT_PREFIX}-replay.>`] });
          if (c.kind === 'raw') {
            await jsm.consumers.add(env.NATS_STREAM, { durable_name: 'raw', ack_policy: AckPolicy.Explicit, deliver_policy: DeliverPolicy.All, max_ack_pending: 10_000 });
          }
          process.stderr.write(`[bench] bridge/${c.name} round ${round + 1}/${ROUNDS}: publishing ${c.warmup + c.measured} messages\n`);
          await publishBacklog(js, env.NATS_SUBJECT_PREFIX, c, c.warmup + c.measured, id);

          const server = c.http ? await startFunctionServer(env, c.fn!) : undefined;
          const child = fork(SELF, ['child', JSON.stringify(c)], {
            cwd: ROOT,
            // BENCH_BRIDGE_CPU_PROF=DIR: each child writes a V8 CPU profile there (test/bench/cpuprofile.ts reads them).
            execArgv: ['--import', 'tsx', ...(process.env.BENCH_BRIDGE_CPU_PROF ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_BRIDGE_CPU_PROF}`] : [])],
            env: childEnv({ ...env, BRIDGE_IN_PROCESS: c.inProcess ?? 'direct' }, { ...(server ? { BRIDGE_FUNCTION_URLS: `noop=${server.url}` } : {}), ...strings(c.env) }),
            stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
          });
          drains.push(await nextMessage<Extract<FromChild, { type: 'drained' }>>(child, 'drained'));
          if (last) {
            // Below capacity, so the latency is a message's, not a queue's.
            pacedRate = Math.min(c.paced, Math.max(50, Math.floor(median(drains.map((d) => d.rate)) / 2)));
            child.send({ type: 'paced', count: pacedRate * PACED_SECONDS });
            published = await publishPaced(js, env.NATS_SUBJECT_PREFIX, pacedRate, c, id);
            done = await nextMessage<Extract<FromChild, { type: 'done' }>>(child, 'done');
          }
          child.kill('SIGTERM');
          server?.proc.kill('SIGTERM');
          await jsm.streams.delete(env.NATS_STREAM).catch(() => {});
          await jsm.streams.delete(env.NATS_DLQ_STREAM).catch(() => {});
        }
        const drained = {
          rate: median(drains.map((d) => d.rate)),
          gcShare: median(drains.map((d) => d.gcShare)),
          cpuUsPerMsg: median(drains.map((d) => d.cpuUsPerMsg)),
        };
        done = done!;

        const lat = done.settled.map(([seq, at]) => at - published.get(seq)!).filter((v) => Number.isFinite(v)).sort((a, b) => a - b);
        const res = [...done.residence].sort((a, b) => a - b);
        const r = { rate: drained.rate, p50: percentile(lat, 50), p99: percentile(lat, 99), paced: pacedRate };
        results[c.name] = r;
        rows.push(
          { case: c.name, metric: 'throughput', value: r.rate, unit: 'msg/s' },
          { case: c.name, metric: 'paced_rate', value: pacedRate, unit: 'msg/s' },
          { case: c.name, metric: 'p50', value: r.p50, unit: 'ms' },
          { case: c.name, metric: 'p99', value: r.p99, unit: 'ms' },
          { case: c.name, metric: 'peak_rss', value: done.maxRssMb, unit: 'MB' },
          { case: c.name, metric: 'gc_share', value: drained.gcShare * 100, unit: '%' },
          { case: c.name, metric: 'cpu_per_msg', value: drained.cpuUsPerMsg, unit: 'us' },
        );
        // Time from a message reaching the consumer to its ack, measured inside the
        // child: the bridge's own overhead, without the publisher and the server.
        rows.push({ case: c.name, metric: 'residence_p50', value: percentile(res, 50), unit: 'ms' });
        rows.push({ case: c.name, metric: 'residence_p99', value: percentile(res, 99), unit: 'ms' });
        if (c.kind === 'bridge') {
          const raw = results.raw;
          if (raw) {
            rows.push({ case: c.name, metric: 'throughput_vs_raw', value: r.rate / raw.rate, unit: 'x' });
            // Same paced rate as the baseline: the bridge's own share of the p99.
            if (pacedRate === raw.paced) rows.push({ case: c.name, metric: 'overhead_p99', value: r.p99 - raw.p99, unit: 'ms' });
          }
          // The cost of metrics: the same case without them, measured in the same run.
          if (c.metrics && results.noop) rows.push({ case: c.name, metric: 'throughput_vs_noop', value: r.rate / results.noop.rate, unit: 'x' });
        }
        // How full the inbox's groups were (last round, the whole backlog): members per claim statement / commit transaction.
        const g = drains.at(-1)!.groups;
        if (g && g.claimGroups + g.commitGroups > 0) {
          rows.push({ case: c.name, metric: 'claims_per_group', value: g.claimGroups ? g.claimsGrouped / g.claimGroups : 1, unit: '' });
          rows.push({ case: c.name, metric: 'commits_per_group', value: g.commitGroups ? g.commitsGrouped / g.commitGroups : 1, unit: '' });
          rows.push({ case: c.name, metric: 'group_fallbacks', value: g.fallbacks, unit: '' });
        }
        rows.push({ case: c.name, metric: 'throughput_spread', value: (Math.max(...drains.map((d) => d.rate)) - Math.min(...drains.map((d) => d.rate))) / drained.rate, unit: 'x' });
      }
      rows.push({ case: 'machine', metric: 'loadavg_1m_end', value: loadavg()[0]!, unit: '' });
    } finally {
      await nc.close();
      await db.drop();
    }
    return rows;
  },
};

// ------------------------------------------------------------------ parent side

const payload = { doc: 'acme-42', note: 'x'.repeat(160) };

// Message ids are new in every round: the inbox cases share one database, and a
// repeated id would be a replay, not the path being measured.
async function publishBacklog(js: JetStreamClient, prefix: string, c: CaseSpec, n: number, run: string): Promise<void> {
  const pending = new Set<Promise<unknown>>();
  for (let i = 0; i < n; i++) {
    const p: Promise<unknown> = publishEnvelope(js, prefix, { id: `b-${run}-${i}`, scope: `s${i % 16}`, type: c.type, payload: { ...payload, i }, attempt: 1, source: 'bench' }).finally(() => pending.delete(p));
    pending.add(p);
    if (pending.size >= 512) await Promise.race(pending);
  }
  await Promise.all(pending);
}

/** PACED_SECONDS of messages at `rate` msg/s; returns stream seq → publish time (epoch ms). */
async function publishPaced(js: JetStreamClient, prefix: string, rate: number, c: CaseSpec, run: string): Promise<Map<number, number>> {
  const at = new Map<number, number>();
  const acks: Promise<unknown>[] = [];
  const t0 = performance.now();
  const total = rate * PACED_SECONDS;
  for (let i = 0; i < total; ) {
    const due = Math.min(total, Math.floor(((performance.now() - t0) * rate) / 1000) + 1);
    for (; i < due; i++) {
      const sent = performance.timeOrigin + performance.now();
      acks.push(
        publishEnvelope(js, prefix, { id: `p-${run}-${i}`, scope: `s${i % 16}`, type: c.type, payload: { ...payload, i }, attempt: 1, source: 'bench' }).then((a) => at.set(a.seq, sent)),
      );
    }
    await new Promise((r) => setTimeout(r, 1));
  }
  await Promise.all(acks);
  return at;
}

const strings = (o: Record<string, string | number> = {}) => Object.fromEntries(Object.entries(o).map(([k, v]) => [k, String(v)]));

function childEnv(env: Env, extra: Record<string, string>): NodeJS.ProcessEnv {
  const out: NodeJS.ProcessEnv = { ...process.env };
  for (const [k, v] of Object.entries(env)) if (v !== undefined) out[k] = String(v);
  return { ...out, ...extra };
}

async function startFunctionServer(env: Env, fn: string): Promise<{ proc: ChildProcess; url: string }> {
  const proc = spawn(process.execPath, ['--import', 'tsx', 'shared/runtime/serve.ts', fn, '0'], { cwd: ROOT, env: childEnv(env, {}), stdio: ['ignore', 'pipe', 'inherit'] });
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    proc.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /^(http:\/\/\S+)$/m.exec(out);
      if (m) resolve(m[1]!);
    });
    proc.once('exit', (code) => reject(new Error(`function server exited with ${code}`)));
  });
  return { proc, url };
}

function nextMessage<T extends FromChild>(child: ChildProcess, type: T['type']): Promise<T> {
  return new Promise((resolve, reject) => {
    const onMsg = (m: FromChild) => {
      if (m.type !== type) return;
      child.off('message', onMsg);
      child.off('exit', onExit);
      resolve(m as T);
    };
    const onExit = (code: number | null) => reject(new Error(`bench child exited with ${code} before '${type}'`));
    child.on('message', onMsg);
    child.once('exit', onExit);
  });
}

// ------------------------------------------------------------------ child side

async function runChild(c: CaseSpec): Promise<void> {
  const env = loadEnv();
  const send = (m: FromChild) => process.send!(m);
  let gcMs = 0;
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) gcMs += e.duration;
  }).observe({ entryTypes: ['gc'] });

  const backlog = c.warmup + c.measured;
  // The parent says how many paced messages follow the backlog (it picks the rate after the drain).
  let pacedTotal = Number.POSITIVE_INFINITY;
  process.on('message', (m: { type: string; count: number }) => {
    if (m.type === 'paced') pacedTotal = m.count;
  });
  let inboxStats: (() => GroupingStats) | undefined;
  let count = 0;
  let startAt = 0;
  let gcAtStart = 0;
  let cpuAtStart: NodeJS.CpuUsage | undefined;
  const settled: [number, number][] = [];
  const residence: number[] = [];
  const onSettled = (seq: number, residenceMs: number) => {
    const now = performance.timeOrigin + performance.now();
    count++;
    if (count === c.warmup) {
      startAt = now;
      gcAtStart = gcMs;
      cpuAtStart = process.cpuUsage();
    } else if (count === backlog) {
      const wall = now - startAt;
      const cpu = process.cpuUsage(cpuAtStart);
      const groups = inboxStats?.();
      send({ type: 'drained', rate: (c.measured / wall) * 1000, gcShare: (gcMs - gcAtStart) / wall, cpuUsPerMsg: (cpu.user + cpu.system) / c.measured, ...(groups ? { groups: { ...groups } } : {}) });
    } else if (count > backlog) {
      settled.push([seq, now]);
      residence.push(residenceMs);
      if (count === backlog + pacedTotal) {
        send({ type: 'done', settled, residence, maxRssMb: process.resourceUsage().maxRSS / 1024 });
      }
    }
  };

  const nc = await connectBus(env, `bench-${c.name}`, 'operator');
  if (c.kind === 'raw') {
    const { js } = await jetStream(nc);
    const consumer = await js.consumers.get(env.NATS_STREAM, 'raw');
    const messages = await consumer.consume();
    for await (const m of messages) {
      const t = performance.now();
      JSON.parse(m.string());
      m.ack();
      onSettled(m.seq, performance.now() - t);
    }
    return;
  }
  const { Bridge } = await import('../../../infra/bridge/bridge.ts');
  const { loadStep } = await import('../../../shared/runtime/load.ts');
  const { createDeps } = await import('../../../shared/runtime/deps.ts');
  const { GroupingIdempotencyStore } = await import('../../../shared/runtime/inbox/grouping.ts');
  const deps = createDeps({ env });
  const inbox = deps.inbox;
  if (inbox instanceof GroupingIdempotencyStore) inboxStats = () => inbox.stats;
  const step = await loadStep(c.fn!);
  // As infra/bridge/main.ts does: connections before messages. Otherwise the pool's
  // SCRAM handshakes (~0.1 s of CPU each through WebCrypto) land in the measured drain.
  const { warmPool } = await import('../../../shared/adapters/db.ts');
  await warmPool(deps.db.pool, Math.min(env.PG_POOL_MAX, env.BRIDGE_CONCURRENCY));
  if (c.metrics) {
    const { initMetrics, metricsText } = await import('../../../shared/adapters/metrics.ts');
    const { observeBridge } = await import('../../../infra/bridge/metrics.ts');
    const { logger } = await import('../../../shared/log.ts');
    initMetrics({ ...env, METRICS_ENABLED: true });
    observeBridge({ bridge: () => bridge, jsm: (await jetStream(nc)).jsm, stream: env.NATS_STREAM, log: logger('bench') });
    setInterval(() => void metricsText(), 1_000).unref();
  }
  let bridge: Awaited<ReturnType<typeof Bridge.start>> | undefined;
  bridge = await Bridge.start({
    nc,
    env,
    db: deps.db,
    steps: [step.withDeps(deps)],
    urls: c.http ? { noop: process.env.BRIDGE_FUNCTION_URLS!.slice('noop='.length) } : {},
    onSettled: (s) => onSettled(s.streamSeq, s.settledAt - s.receivedAt),
  });
}

if (process.argv[1] === SELF && process.argv[2] === 'child') {
  process.on('SIGTERM', () => process.exit(0));
  await runChild(JSON.parse(process.argv[3]!) as CaseSpec);
}
