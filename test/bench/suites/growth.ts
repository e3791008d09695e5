// Does per-document work grow with the scope (issue 11)? One scope fed documents one
// after another through the facts step in-process (as the integration tests run it: a
// fresh database, an own MinIO bucket, OpenFGA, the real facts-worker; no model, so the
// offline extractor). At checkpoints of 10, 100, 1,000 documents already in the scope
// (10,000 with BENCH_GROWTH_MAX=10000; BENCH_GROWTH_MAX caps the largest checkpoint,
// default 1,000) the next BENCH_GROWTH_SAMPLE (20) documents are timed one by one:
//   facts_p50_ms   p50 of the facts step's time per document (the whole invoke)
//   ratio_vs_10    that p50 ÷ the p50 at 10 documents ("flat within 2×" reads off it)
//   heap_mb        heapUsed after a full GC (run with --expose-gc), else rss
//   graph_nodes    current graph nodes of the scope
//   open_contradictions  active contradicts edges of the scope (they grow faster than nodes)
//   snapshot_ms    loadSnapshot of the scope (the finality snapshot), p50 of 3
//   claims_scan_ms queryNodes(scope, claims): the facts step reads every claim of the
//                  scope per document (claims awaiting an embedding), p50 of 3
// Documents: every scenario document in turn, figures nudged by the round, a signatory
// from a list and the round in the title, so no two documents are alike.
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
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

const intEnv = (name: string, dflt: number, min = 1) => {
  const v = Number(process.env[name] ?? dflt);
  if (!Number.isInteger(v) || v < min) throw new Error(`${name} must be an integer ≥ ${min}`);
  return v;
};
const MAX = intEnv('BENCH_GROWTH_MAX', 1_000, 10);
const SAMPLE = intEnv('BENCH_GROWTH_SAMPLE', 20);
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
  description: `one scope fed documents through the facts step in-process; at ${CHECKPOINTS.join(', ')} documents: facts step p50 of the next ${SAMPLE} documents (ratio vs 10), heap, graph nodes, loadSnapshot`,
  async run(): Promise<BenchRow[]> {
    await prepareTemplate(loadEnv());
    const t = await swarmTestEnv();
    const policy = loadFinalityPolicy().policy;
    const all = scenarioDocs();
    const rows: BenchRow[] = [];
    let base = Number.NaN;
    const t0 = performance.now();
    try {
      const scope = await t.scope('growth-');
      let fed = 0;
      const feed = async (): Promise<number> => {
        const msg = growthDocument(all, scope, fed);
        const started = performance.now();
        const res = await invoke(facts, t.deps, msg);
        const ms = performance.now() - started;
        if (!res.ok) throw new Error(`facts failed on document ${fed}: ${res.error.code}: ${res.error.message}`);
        fed++;
        return ms;
      };
      for (const n of CHECKPOINTS) {
        while (fed < n) await feed();
        const nodes = Number((await t.db.pool.query<{ n: string }>(`SELECT count(*) AS n FROM graph_nodes WHERE scope_id = $1 AND superseded_at IS NULL`, [scope])).rows[0]!.n);
        const contradictions = Number((await t.db.pool.query<{ n: string }>(`SELECT count(*) AS n FROM graph_edges WHERE scope_id = $1 AND kind = 'contradicts' AND status = 'active' AND superseded_at IS NULL`, [scope])).rows[0]!.n);
        const mem = memoryMb();
        const snapshot = await timed(3, () => loadSnapshot(t.db.pool, scope, policy));
        const claimsScan = await timed(3, () => queryNodes(t.db.pool, scope, { kinds: ['claim'] }));
        const samples: number[] = [];
        for (let k = 0; k < SAMPLE; k++) samples.push(await feed());
        const p = p50(samples);
        if (n === CHECKPOINTS[0]) base = p;
        const c = `${n}_docs`;
        rows.push(
          { case: c, metric: 'facts_p50_ms', value: p, unit: 'ms' },
          { case: c, metric: 'ratio_vs_10', value: p / base, unit: 'x' },
          { case: c, metric: mem.metric, value: mem.value, unit: 'MB' },
          { case: c, metric: 'graph_nodes', value: nodes, unit: 'nodes' },
          { case: c, metric: 'open_contradictions', value: contradictions, unit: 'edges' },
          { case: c, metric: 'snapshot_ms', value: snapshot, unit: 'ms' },
          { case: c, metric: 'claims_scan_ms', value: claimsScan, unit: 'ms' },
        );
        process.stderr.write(`[bench] growth: ${n} docs, ${nodes} nodes, ${contradictions} open contradictions: facts p50 ${p.toFixed(0)} ms, snapshot ${snapshot.toFixed(0)} ms, claims scan ${claimsScan.toFixed(1)} ms, ${mem.metric} ${mem.value.toFixed(0)} after ${((performance.now() - t0) / 1000).toFixed(0)} s\n`);
      }
      rows.push({ case: 'run', metric: 'documents', value: fed, unit: 'docs' }, { case: 'run', metric: 'wall_time', value: (performance.now() - t0) / 1000, unit: 's' });
    } finally {
      await closeExtractPool();
      await t.close();
    }
    return rows;
  },
};
