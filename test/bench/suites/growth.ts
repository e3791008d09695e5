// Does per-document work grow with the scope (issue 11)? One scope fed documents through
// the facts step in-process (as the integration tests run it: a fresh database, an own
// MinIO bucket, OpenFGA, the real facts-worker; no model, so the offline extractor). At
// checkpoints of 10, 100, 1,000 and 10,000 documents already in the scope
// (BENCH_GROWTH_MAX caps the largest checkpoint, default 1,000) the next
// BENCH_GROWTH_SAMPLE (20) documents are fed one by one and timed:
//   facts_p50_ms   p50 of the facts step's time per document (the whole invoke)
//   facts_mean_ms  mean of the same (the p50 hides the documents with revisions, a quarter)
//   ratio_vs_10    that p50 ÷ the p50 at 10 documents ("flat within 2×" reads off it)
//   busy_p50_ms    this process's main thread busy per document (event-loop utilisation)
//   heap_mb        heapUsed after a full GC (run with --expose-gc), else rss
//   graph_nodes    current graph nodes of the scope
//   open_contradictions  active contradicts edges of the scope (they grow faster than nodes)
//   snapshot_ms    loadSnapshot of the scope (the finality snapshot), p50 of 3
//   claims_scan_ms queryNodes(scope, claims) (a read capped at 500 rows), p50 of 3
// and at the end the largest ÷ smallest p50 and heap over the checkpoints, and the p50 of a fresh
// scope at 10 documents measured again right after the largest checkpoint (the load changes
// over a long run on a shared machine) with the largest's p50 ÷ it.
// Between checkpoints the scope is filled through the same facts step, BENCH_GROWTH_CONCURRENCY
// (4) documents at a time (their commits still take the scope's lock one after another), so
// that 10,000 documents fit in a run; only the measured sample goes one at a time.
// BENCH_GROWTH_QUERIES=N prints the N queries with the most time per sampled document.
// Documents: every scenario document in turn, figures nudged by the round, a signatory
// from a list and the round in the title, so no two documents are alike.
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { step as facts } from '../../../functions/facts/index.ts';
import type { Envelope } from '../../../shared/contract/envelope.ts';
import { closeExtractPool } from '../../../shared/extract/pool.ts';
import { loadFinalityPolicy } from '../../../shared/policy/load.ts';
import { queryNodes } from '../../../shared/store/graph.ts';
import { loadSnapshot } from '../../../shared/store/snapshot.ts';
import { prepareTemplate } from '../../support/db.ts';
import { envelope, invoke, swarmTestEnv } from '../../support/swarm.ts';
import { loadEnv } from '../../../shared/config.ts';
import { percentile, type BenchRow, type BenchSuite } from '../harness.ts';
import { installQueryTiming, queryLabel, startQueryTiming, stopQueryTiming } from '../query-timing.ts';

const intEnv = (name: string, dflt: number, min = 1) => {
  const v = Number(process.env[name] ?? dflt);
  if (!Number.isInteger(v) || v < min) throw new Error(`${name} must be an integer ≥ ${min}`);
  return v;
};
const MAX = intEnv('BENCH_GROWTH_MAX', 1_000, 10);
const SAMPLE = intEnv('BENCH_GROWTH_SAMPLE', 20);
/** With BENCH_GROWTH_QUERIES=N: the N queries with the most time per sampled document, per checkpoint (stderr). */
const QUERIES = intEnv('BENCH_GROWTH_QUERIES', 0, 0);
const CONCURRENCY = intEnv('BENCH_GROWTH_CONCURRENCY', 4);
const CHECKPOINTS = [10, 100, 1_000, 10_000].filter((n) => n <= MAX);
if (!CHECKPOINTS.includes(MAX)) CHECKPOINTS.push(MAX);

const SCENARIOS = new URL('../../../infra/demo/scenarios/', import.meta.url).pathname;
const NAMES = ['Maria Chen', 'Tomas Okafor', 'Priya Raman', 'Jonas Berg', 'Lucia Ferreira', 'Hamid Karimi', 'Ines Novak', 'Daniel Osei', 'Sofia Lindqvist', 'Arjun Mehta', 'Elena Petrova'];

function scenarioDocs(): { name: string; title: string; body: string }[] {
  return readdirSync(SCENARIOS, { withFileTypes: true })
    .filter((d) => d.isDirectory())
    .map((d) => d.name)
    .sort()
    .flatMap((name) =>
      readdirSync(join(SCENARIOS, name))
        .filter((f) => /^\d.*\.(txt|md)$/.test(f))
        .sort()
        .map((f) => {
          const [first, ...rest] = readFileSync(join(SCENARIOS, name, f), 'utf8').split('\n');
          return { name: `${name}-${f.replace(/\..*$/, '')}`, title: first!.replace(/^#+\s*/, '').trim() || 'Document', body: rest.join('\n') };
        }),
    );
}

/** Document i of the scope: scenario document i mod all, figures nudged by the round, a signatory of its own. */
export function growthDocument(all: ReturnType<typeof scenarioDocs>, scope: string, i: number): Envelope {
  const d = all[i % all.length]!;
  const round = Math.floor(i / all.length);
  const body = d.body.replace(/\b(\d{2,3})(?=[ %])/g, (x) => String(Number(x) + (round % 50)));
  const who = NAMES[i % NAMES.length]!;
  const title = `${d.title} (revision ${round + 1})`;
  return envelope('doc.submitted', scope, {
    doc_id: `${d.name}-r${round}`,
    title,
    text: `${title}\n${body}\n\nSigned for the record by ${who}, reviewer no. ${i + 1}.\n`,
    kind: 'document',
    submitted_by: 'bench',
  });
}

const p50 = (xs: number[]) => percentile([...xs].sort((a, b) => a - b), 50);

async function timed(n: number, fn: () => Promise<unknown>): Promise<number> {
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    await fn();
    out.push(performance.now() - t);
  }
  return p50(out);
}

function memoryMb(): { value: number; metric: string } {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc) {
    gc();
    return { metric: 'heap_mb', value: process.memoryUsage().heapUsed / 2 ** 20 };
  }
  return { metric: 'rss_mb', value: process.memoryUsage().rss / 2 ** 20 };
}

export const suite: BenchSuite = {
  name: 'growth',
  description: `one scope fed documents through the facts step in-process (filled ${CONCURRENCY} at a time between checkpoints); at ${CHECKPOINTS.join(', ')} documents: facts step p50 of the next ${SAMPLE} documents fed one by one (ratio vs 10), heap, graph nodes, loadSnapshot`,
  async run(): Promise<BenchRow[]> {
    await prepareTemplate(loadEnv());
    if (QUERIES) installQueryTiming();
    const t = await swarmTestEnv();
    const policy = loadFinalityPolicy().policy;
    const all = scenarioDocs();
    const rows: BenchRow[] = [];
    let base = Number.NaN;
    const t0 = performance.now();
    try {
      const scope = await t.scope('growth-');
      let fed = 0;
      // Main-thread busy time per document (event-loop utilisation): this process's own CPU, without the waits.
      let busy: number[] = [];
      const feed = async (): Promise<number> => {
        const msg = growthDocument(all, scope, fed);
        const started = performance.now();
        const elu = performance.eventLoopUtilization();
        const res = await invoke(facts, t.deps, msg);
        const ms = performance.now() - started;
        busy.push(performance.eventLoopUtilization(elu).active);
        if (!res.ok) throw new Error(`facts failed on document ${fed}: ${res.error.code}: ${res.error.message}`);
        fed++;
        return ms;
      };
      // Documents fed + n, CONCURRENCY at a time; a transient failure (a lock or pool wait) is tried again.
      const prefill = async (n: number): Promise<void> => {
        let next = fed;
        const worker = async () => {
          for (let i = next++; i < n; i = next++) {
            for (let attempt = 1; ; attempt++) {
              const res = await invoke(facts, t.deps, growthDocument(all, scope, i));
              if (res.ok) break;
              if (res.error.class === 'permanent' || attempt >= 5) throw new Error(`facts failed on document ${i}: ${res.error.code}: ${res.error.message}`);
            }
          }
        };
        await Promise.all(Array.from({ length: CONCURRENCY }, worker));
        fed = n;
      };
      const p50s: number[] = [];
      const heaps: number[] = [];
      for (const n of CHECKPOINTS) {
        const fillStarted = performance.now();
        await prefill(n);
        process.stderr.write(`[bench] growth: filled to ${n} documents in ${((performance.now() - fillStarted) / 1000).toFixed(0)} s\n`);
        const nodes = Number((await t.db.pool.query<{ n: string }>(`SELECT count(*) AS n FROM graph_nodes WHERE scope_id = $1 AND superseded_at IS NULL`, [scope])).rows[0]!.n);
        const contradictions = Number((await t.db.pool.query<{ n: string }>(`SELECT count(*) AS n FROM graph_edges WHERE scope_id = $1 AND kind = 'contradicts' AND status = 'active' AND superseded_at IS NULL`, [scope])).rows[0]!.n);
        const mem = memoryMb();
        const snapshot = await timed(3, () => loadSnapshot(t.db.pool, scope, policy));
        const claimsScan = await timed(3, () => queryNodes(t.db.pool, scope, { kinds: ['claim'] }));
        const samples: number[] = [];
        busy = [];
        if (QUERIES) startQueryTiming();
        for (let k = 0; k < SAMPLE; k++) samples.push(await feed());
        if (QUERIES) {
          const byTime = [...stopQueryTiming()].sort((a, b) => b[1].ms - a[1].ms).slice(0, QUERIES);
          for (const [sql, q] of byTime) process.stderr.write(`[bench] growth ${n}: ${(q.ms / SAMPLE).toFixed(2).padStart(8)} ms/doc ${(q.calls / SAMPLE).toFixed(1).padStart(6)} calls/doc ${(q.rows / SAMPLE).toFixed(0).padStart(6)} rows/doc  ${queryLabel(sql)}\n`);
        }
        const p = p50(samples);
        if (n === CHECKPOINTS[0]) base = p;
        p50s.push(p);
        heaps.push(mem.value);
        const c = `${n}_docs`;
        rows.push(
          { case: c, metric: 'facts_p50_ms', value: p, unit: 'ms' },
          { case: c, metric: 'facts_mean_ms', value: samples.reduce((a, b) => a + b, 0) / samples.length, unit: 'ms' },
          { case: c, metric: 'ratio_vs_10', value: p / base, unit: 'x' },
          { case: c, metric: 'busy_p50_ms', value: p50(busy), unit: 'ms' },
          { case: c, metric: mem.metric, value: mem.value, unit: 'MB' },
          { case: c, metric: 'graph_nodes', value: nodes, unit: 'nodes' },
          { case: c, metric: 'open_contradictions', value: contradictions, unit: 'edges' },
          { case: c, metric: 'snapshot_ms', value: snapshot, unit: 'ms' },
          { case: c, metric: 'claims_scan_ms', value: claimsScan, unit: 'ms' },
        );
        process.stderr.write(`[bench] growth: ${n} docs, ${nodes} nodes, ${contradictions} open contradictions: facts p50 ${p.toFixed(0)} ms (main thread busy ${p50(busy).toFixed(0)} ms), snapshot ${snapshot.toFixed(0)} ms, claims scan ${claimsScan.toFixed(1)} ms, ${mem.metric} ${mem.value.toFixed(0)} after ${((performance.now() - t0) / 1000).toFixed(0)} s\n`);
      }
      // The machine is shared: the 10-document p50 again, in a fresh scope of the same database right
      // after the largest checkpoint, so that the largest is also compared under the same load.
      {
        const again = await t.scope('growth-again-');
        for (let i = 0; i < CHECKPOINTS[0]!; i++) {
          const res = await invoke(facts, t.deps, growthDocument(all, again, i));
          if (!res.ok) throw new Error(`facts failed on document ${i} of the second scope: ${res.error.code}: ${res.error.message}`);
        }
        const samples: number[] = [];
        for (let i = CHECKPOINTS[0]!; i < CHECKPOINTS[0]! + SAMPLE; i++) {
          const started = performance.now();
          const res = await invoke(facts, t.deps, growthDocument(all, again, i));
          samples.push(performance.now() - started);
          if (!res.ok) throw new Error(`facts failed on document ${i} of the second scope: ${res.error.code}: ${res.error.message}`);
        }
        const p = p50(samples);
        rows.push(
          { case: `${CHECKPOINTS[0]}_docs_again`, metric: 'facts_p50_ms', value: p, unit: 'ms' },
          { case: 'run', metric: `largest_vs_${CHECKPOINTS[0]}_again`, value: p50s[p50s.length - 1]! / p, unit: 'x' },
        );
        process.stderr.write(`[bench] growth: a fresh scope at ${CHECKPOINTS[0]} docs again: facts p50 ${p.toFixed(0)} ms\n`);
      }
      rows.push(
        { case: 'run', metric: 'facts_p50_largest_vs_smallest', value: Math.max(...p50s) / Math.min(...p50s), unit: 'x' },
        { case: 'run', metric: 'heap_largest_vs_smallest', value: Math.max(...heaps) / Math.min(...heaps), unit: 'x' },
      );
      rows.push({ case: 'run', metric: 'documents', value: fed, unit: 'docs' }, { case: 'run', metric: 'wall_time', value: (performance.now() - t0) / 1000, unit: 's' });
    } finally {
      await closeExtractPool();
      await t.close();
    }
    return rows;
  },
};
