// The finality snapshot of one scope as it grows (the query every finality round and
// every scope read runs): time per snapshot at 3k, 6k, 12k and 24k graph nodes (half as
// many contradictions, a fifth of them resolved, supports edges), and time per 1,000
// nodes, which must stay flat (linear). Synthetic rows inserted with SQL in a database
// of its own; the baseline is `SELECT 1` on the same pool.
import { loadFinalityPolicy } from '../../../shared/policy/load.ts';
import { loadSnapshot } from '../../../shared/store/snapshot.ts';
import { freshDatabase } from '../../support/db.ts';
import { percentile, type BenchRow, type BenchSuite } from '../harness.ts';

const SIZES = [3_000, 6_000, 12_000, 24_000];

export const suite: BenchSuite = {
  name: 'snapshot',
  description: 'finality snapshot query of one scope at 3k-24k graph nodes; baseline: SELECT 1',
  async run(): Promise<BenchRow[]> {
    const db = await freshDatabase();
    const policy = loadFinalityPolicy().policy;
    const rows: BenchRow[] = [];
    try {
      const base: number[] = [];
      for (let i = 0; i < 20; i++) {
        const t = performance.now();
        await db.pool.query('SELECT 1');
        base.push(performance.now() - t);
      }
      rows.push({ case: 'baseline', metric: 'p50', value: percentile(base.sort((a, b) => a - b), 50), unit: 'ms' });
      for (const n of SIZES) {
        const scope = `s${n}`;
        await db.pool.query(`INSERT INTO scopes (scope_id) VALUES ($1)`, [scope]);
        await db.pool.query(
          `INSERT INTO graph_nodes (node_id, scope_id, kind, content, confidence, source_doc, content_hash, created_by)
           SELECT gen_random_uuid(), $1, CASE WHEN i % 20 = 0 THEN 'goal' ELSE 'claim' END, 'c' || i, 0.5 + (i % 50) / 100.0, 'd' || (i % 1000), md5(i::text), 'facts'
             FROM generate_series(1, $2) i`,
          [scope, n],
        );
        await db.pool.query(
          `INSERT INTO graph_edges (edge_id, scope_id, kind, source_id, target_id, created_by)
           SELECT gen_random_uuid(), $1, 'contradicts', ids[i], ids[i + 1], 'facts'
             FROM (SELECT array_agg(node_id) AS ids FROM graph_nodes WHERE scope_id = $1) a, generate_series(1, $2::int) i`,
          [scope, n / 2],
        );
        await db.pool.query(
          `INSERT INTO graph_edges (edge_id, scope_id, kind, source_id, target_id, created_by)
           SELECT gen_random_uuid(), $1, 'resolves', gen_random_uuid(), edge_id, 'facts' FROM graph_edges WHERE scope_id = $1 AND kind = 'contradicts' LIMIT $2`,
          [scope, n / 10],
        );
        await db.pool.query(
          `INSERT INTO graph_edges (edge_id, scope_id, kind, source_id, target_id, created_by)
           SELECT gen_random_uuid(), $1, 'supports', gen_random_uuid(), node_id, 'facts' FROM graph_nodes WHERE scope_id = $1 LIMIT $2`,
          [scope, n / 2],
        );
        await db.pool.query('ANALYZE graph_nodes; ANALYZE graph_edges');
        const times: number[] = [];
        for (let i = 0; i < 5; i++) {
          const t = performance.now();
          await loadSnapshot(db.pool, scope, policy);
          times.push(performance.now() - t);
        }
        const p50 = percentile(times.sort((a, b) => a - b), 50);
        rows.push({ case: `${n / 1000}k_nodes`, metric: 'p50', value: p50, unit: 'ms' });
        rows.push({ case: `${n / 1000}k_nodes`, metric: 'per_1k_nodes', value: p50 / (n / 1000), unit: 'ms' });
      }
    } finally {
      await db.drop();
    }
    return rows;
  },
};
