// The figures index (migration 008): each figure a document states, with its subject
// embedding, looked up by unit and nearest subject when a new document arrives; and
// the terms (acronyms) a scope's documents define.
import type { CandidateRead, FigureFact } from '../domain/figure-plan.ts';
import type { Statement } from '../extract/types.ts';
import { toVectorLiteral, type Queryable } from './db.ts';

export type FigureRow = FigureFact;

interface Raw {
  figure_id: string;
  node_id: string;
  doc_id: string;
  metric: string;
  subject: string;
  subject_text: string;
  vec: string | null;
  statement: Statement;
  sentence: string;
}

const toRow = (r: Raw): FigureRow => ({
  figureId: Number(r.figure_id),
  nodeId: r.node_id,
  docId: r.doc_id,
  metric: r.metric,
  subject: r.subject,
  subjectText: r.subject_text,
  vector: r.vec ? (JSON.parse(r.vec) as number[]) : null,
  statement: r.statement,
  sentence: r.sentence,
});

const COLS = 'figure_id, node_id, doc_id, metric, subject, subject_text, subject_embedding::text AS vec, statement, sentence';

/** Metrics a figure may be compared with: its own, or any counted unit for a count (synonyms are decided by the caller). */
const metricFilter = (metric: string) => (metric.startsWith('count:') ? { sql: "metric LIKE 'count:%'", params: [] as string[] } : { sql: 'metric = $4', params: [metric] });
/** What a revision may settle: the same metric, or any count for a count (as compare.ts settles() decides). */
const revisionMetricFilter = (metric: string) => (metric.startsWith('count') ? { sql: "metric LIKE 'count%'", params: [] as string[] } : { sql: 'metric = $4', params: [metric] });

/**
 * The nearest figures are found exactly, at a cost of the unit's subjects in the scope
 * and the nearest subjects' figures, not every figure of the unit (migration 015): the
 * scope's distinct subject vectors of the unit are sorted by distance, and each subject's
 * figures are read newest first, at most `limit` of them, until `limit` figures are found. Every figure of a subject is at that
 * subject's distance, so this is the exact nearest-`limit` (ties newest first). The HNSW
 * index this replaced, with pgvector 0.8.0's iterative scan, returned 2 of a scope's 5
 * nearest figures (test/integration/core/figures-bounded.test.ts), and a missed neighbour
 * is a missed contradiction.
 *
 * Figures of the scope that may be the same figure as one with `metric` and subject
 * `vector`: the `limit` nearest subjects by embedding, and (for figures stored without
 * a vector) the most recent ones, for a lexical match. By default the current figures
 * of other documents; `revision` widens them to what a revision may settle (every
 * status: a contested value may have been retired since; any count for a count).
 */
export async function candidateFigures(
  q: Queryable,
  scope: string,
  opts: { metric: string; vector: readonly number[] | null; excludeDoc: string | null; limit?: number; revision?: boolean },
): Promise<FigureRow[]> {
  const { near, unembedded } = await candidateFigureParts(q, scope, opts);
  return [...near, ...unembedded];
}

/** candidateFigures in its two parts: the nearest subjects' figures, then those without a vector (newest first). */
export async function candidateFigureParts(
  q: Queryable,
  scope: string,
  opts: { metric: string; vector: readonly number[] | null; excludeDoc: string | null; limit?: number; revision?: boolean },
): Promise<CandidateRead> {
  const limit = opts.limit ?? 24;
  const f = (opts.revision ? revisionMetricFilter : metricFilter)(opts.metric);
  const base = `FROM figures WHERE scope_id = $1 ${opts.revision ? '' : "AND status = 'current'"} AND doc_id <> $2 AND ${f.sql}`;
  // doc_id <> '' excludes nothing: document ids are never empty.
  const exclude = opts.excludeDoc ?? '';
  const near: FigureRow[] = [];
  if (opts.vector) {
    // The subjects are sorted by distance, then each one's figures read newest first, by
    // subject key alone (so figures_subject_* is the only index that serves it). The outer
    // order is the subjects' order alone, which the nested loop already yields: the LIMIT
    // stops it once `limit` figures are found (ordering on figure_id too made the planner
    // read `limit` figures of every subject and sort them all when it lacked stats).
    const { rows } = await q.query<Raw>(
      `SELECT ${COLS} FROM (
           SELECT subject_key AS s_key, subject_embedding <=> $${f.params.length ? 5 : 4}::vector AS distance
             FROM figure_subjects WHERE scope_id = $1 AND ${f.sql} ORDER BY distance
         ) s
         CROSS JOIN LATERAL (
           SELECT * FROM figures
            WHERE subject_key = s.s_key ${opts.revision ? '' : "AND status = 'current'"} AND doc_id <> $2
            ORDER BY figure_id DESC LIMIT $3
         ) f
        ORDER BY s.distance LIMIT $3`,
      [scope, exclude, limit, ...f.params, toVectorLiteral(opts.vector)],
    );
    near.push(...rows.map(toRow));
  }
  const { rows } = await q.query<Raw>(
    `SELECT ${COLS} ${base} ${opts.vector ? 'AND subject_embedding IS NULL' : ''} ORDER BY figure_id DESC LIMIT $3`,
    [scope, exclude, opts.vector ? limit : limit * 4, ...f.params],
  );
  return { near, unembedded: rows.map(toRow) };
}

/** Would a lookup of `metric` (candidateFigures, figuresWithValue) consider a figure of `other`? */
export const sameMetricFamily = (metric: string, other: string) => (metric.startsWith('count:') ? other.startsWith('count:') : other === metric);

/** Current figures of other documents whose value falls in [lo, hi], in the metric's family: who states a value a sentence denies. */
export async function figuresWithValue(q: Queryable, scope: string, opts: { metric: string; lo: number; hi: number; excludeDoc: string; limit?: number }): Promise<FigureRow[]> {
  const f = metricFilter(opts.metric);
  const { rows } = await q.query<Raw>(
    `SELECT ${COLS} FROM figures WHERE scope_id = $1 AND status = 'current' AND doc_id <> $2 AND ${f.sql}
        AND (statement->'value'->>'value')::float8 BETWEEN $${f.params.length ? 5 : 4} AND $${f.params.length ? 6 : 5}
      ORDER BY figure_id DESC LIMIT $3`,
    [scope, opts.excludeDoc, opts.limit ?? 20, ...f.params, opts.lo, opts.hi],
  );
  return rows.map(toRow);
}

export async function insertFigure(
  q: Queryable,
  f: { scope: string; nodeId: string; docId: string; statement: Statement; subjectText: string; vector: readonly number[] | null; sentence: string },
): Promise<number> {
  // The figure's subject joins the scope's subjects of its unit (migration 015) in the same
  // statement, so the lookup never misses a figure; its key is the one the figures table
  // computed.
  const { rows } = await q.query<{ figure_id: string }>(
    `WITH fig AS (
       INSERT INTO figures (scope_id, node_id, doc_id, metric, subject, subject_text, subject_embedding, statement, sentence)
       VALUES ($1, $2, $3, $4, $5, $6, $7::vector, $8::jsonb, $9) RETURNING figure_id, scope_id, metric, subject_key, subject_embedding
     ), subject AS (
       INSERT INTO figure_subjects (subject_key, scope_id, metric, subject_embedding)
       SELECT subject_key, scope_id, metric, subject_embedding FROM fig WHERE subject_key IS NOT NULL
       ON CONFLICT DO NOTHING
     )
     SELECT figure_id FROM fig`,
    [f.scope, f.nodeId, f.docId, f.statement.metric, f.statement.subject, f.subjectText, f.vector ? toVectorLiteral(f.vector) : null, JSON.stringify(f.statement), f.sentence.slice(0, 2000)],
  );
  return Number(rows[0]!.figure_id);
}

/** A later document restated these figures: keep them, stop matching them. */
export async function markRevised(q: Queryable, scope: string, figureIds: readonly number[], byDoc: string): Promise<void> {
  if (!figureIds.length) return;
  await q.query(`UPDATE figures SET status = 'revised', revised_by = $3 WHERE scope_id = $1 AND figure_id = ANY($2::bigint[])`, [scope, figureIds, byDoc]);
}

/** Every figure stated for these claim nodes (which documents say each value, in which sentence). */
export async function figuresOfNodes(q: Queryable, scope: string, nodeIds: readonly string[]): Promise<FigureRow[]> {
  if (!nodeIds.length) return [];
  const { rows } = await q.query<Raw>(`SELECT ${COLS} FROM figures WHERE scope_id = $1 AND node_id = ANY($2::uuid[]) ORDER BY figure_id`, [scope, nodeIds]);
  return rows.map(toRow);
}

export async function loadTerms(q: Queryable, scope: string): Promise<Record<string, string>> {
  const { rows } = await q.query<{ term: string; expansion: string }>('SELECT term, expansion FROM scope_terms WHERE scope_id = $1', [scope]);
  return Object.fromEntries(rows.map((r) => [r.term, r.expansion]));
}

/** The first definition of a term in a scope stands. */
export async function saveTerms(q: Queryable, scope: string, terms: Readonly<Record<string, string>>, docId: string): Promise<void> {
  for (const [term, expansion] of Object.entries(terms).slice(0, 200)) {
    await q.query('INSERT INTO scope_terms (scope_id, term, expansion, doc_id) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING', [scope, term.slice(0, 20), expansion.slice(0, 200), docId]);
  }
}
