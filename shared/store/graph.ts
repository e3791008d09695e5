// Semantic graph in Postgres (+ pgvector): bitemporal nodes and edges. A change
// supersedes the current version and inserts the next one in the same statement; rows
// are never updated in content nor deleted. Writers of one node serialise on a
// transaction-scoped advisory lock, so concurrent upserts compose (confidence = the max
// of all writes) instead of failing on the "one current version" unique index.
//
// Time: valid time (valid_from / valid_to: when the fact holds in the world) and
// transaction time (recorded_at / superseded_at: when the database believed it), stamped
// with clock_timestamp() after the lock, so versions of a node are strictly ordered.
import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { ScopeId } from '../contract/envelope.ts';
import { PermanentError, TransientError } from '../contract/errors.ts';
import {
  contentHash,
  EDGE_KINDS,
  EDGE_STATUSES,
  mergeEdge,
  mergeNode,
  NODE_KINDS,
  NODE_STATUSES,
  SEVERITIES,
  SYMMETRIC_EDGE_KINDS,
  type EdgeFields,
  type EdgeKind,
  type EdgeStatus,
  type NodeFields,
  type NodeKind,
  type NodeStatus,
  type Severity,
} from '../domain/graph.ts';
import { pairKey } from '../domain/figure-plan.ts';
import type { ContradictionMeta, GraphPlan, Target } from '../domain/graph-ops.ts';
import { CLAIM_NEIGHBOURS, type CurrentClaim, type GraphNow, type Neighbours, type PlanClaim } from '../domain/graph-plan.ts';
import { corroborate } from '../domain/match.ts';
import { SAME_CLAIM_MIN_COSINE } from '../domain/similarity.ts';
import { formatValue } from '../extract/compare.ts';
import { inTransaction, num, toVectorLiteral, type Db, type Tx, type Queryable } from './db.ts';
import { insertFigure, markRevised } from './figures.ts';

export interface GraphNode extends NodeFields {
  nodeId: string;
  versionId: number;
  scope: string;
  contentHash: string;
  createdBy: string;
  validFrom: Date;
  recordedAt: Date;
  supersededAt: Date | null;
  hasEmbedding: boolean;
}

export interface GraphEdge extends EdgeFields {
  edgeId: string;
  versionId: number;
  scope: string;
  kind: EdgeKind;
  sourceId: string;
  targetId: string;
  createdBy: string;
  validFrom: Date;
  recordedAt: Date;
  supersededAt: Date | null;
}

const date = z.coerce.date();
const Json = z.record(z.string(), z.unknown());

export const NodeInput = z
  .object({
    scope: ScopeId,
    kind: z.enum(NODE_KINDS),
    content: z.string().trim().min(1).max(10_000),
    /** Update this node; without it the node is found by (scope, kind, content hash) or created. */
    nodeId: z.uuid().optional(),
    subject: z.string().max(500).nullable().optional(),
    metric: z.string().max(500).nullable().optional(),
    value: z.unknown().optional(),
    confidence: z.number().min(0).max(1).optional(),
    status: z.enum(NODE_STATUSES).optional(),
    severity: z.enum(SEVERITIES).nullable().optional(),
    sourceDoc: z.string().max(500).nullable().optional(),
    sourceRef: Json.optional(),
    metadata: Json.optional(),
    /** Writer of this version. The node keeps the creator of its first version. */
    createdBy: z.string().min(1).max(64),
    validFrom: date.nullable().optional(),
    validTo: date.nullable().optional(),
    embedding: z.array(z.number()).min(1).optional(),
  })
  .refine((n) => !n.validFrom || !n.validTo || n.validTo > n.validFrom, { message: 'validTo must be after validFrom' });
export type NodeInput = z.input<typeof NodeInput>;

export const EdgeInput = z.object({
  scope: ScopeId,
  kind: z.enum(EDGE_KINDS),
  sourceId: z.uuid(),
  /** A node; for `resolves` also a contradicts edge id. */
  targetId: z.uuid(),
  weight: z.number().positive().max(1000).optional(),
  status: z.enum(EDGE_STATUSES).optional(),
  metadata: Json.optional(),
  createdBy: z.string().min(1).max(64),
  validFrom: date.nullable().optional(),
  validTo: date.nullable().optional(),
});
export type EdgeInput = z.input<typeof EdgeInput>;

export interface WriteResult {
  id: string;
  versionId: number | null;
  action: 'insert' | 'supersede' | 'noop';
  changed: string[];
}

type NodeRow = {
  version_id: string;
  node_id: string;
  scope_id: string;
  kind: NodeKind;
  content: string;
  subject: string | null;
  metric: string | null;
  value: unknown;
  confidence: number;
  status: NodeStatus;
  severity: Severity | null;
  source_doc: string | null;
  source_ref: Record<string, unknown>;
  content_hash: string;
  metadata: Record<string, unknown>;
  created_by: string;
  valid_from: Date;
  valid_to: Date | null;
  recorded_at: Date;
  superseded_at: Date | null;
  has_embedding: boolean;
};

const NODE_COLS = `version_id, node_id, scope_id, kind, content, subject, metric, value, confidence, status, severity,
  source_doc, source_ref, content_hash, metadata, created_by, valid_from, valid_to, recorded_at, superseded_at,
  embedding IS NOT NULL AS has_embedding`;

const toNode = (r: NodeRow): GraphNode => ({
  nodeId: r.node_id,
  versionId: num(r.version_id),
  scope: r.scope_id,
  kind: r.kind,
  content: r.content,
  subject: r.subject,
  metric: r.metric,
  value: r.value,
  confidence: r.confidence,
  status: r.status,
  severity: r.severity,
  sourceDoc: r.source_doc,
  sourceRef: r.source_ref,
  contentHash: r.content_hash,
  metadata: r.metadata,
  createdBy: r.created_by,
  validFrom: r.valid_from,
  validTo: r.valid_to,
  recordedAt: r.recorded_at,
  supersededAt: r.superseded_at,
  hasEmbedding: r.has_embedding,
});

type EdgeRow = {
  version_id: string;
  edge_id: string;
  scope_id: string;
  kind: EdgeKind;
  source_id: string;
  target_id: string;
  weight: number;
  status: EdgeStatus;
  metadata: Record<string, unknown>;
  created_by: string;
  valid_from: Date;
  valid_to: Date | null;
  recorded_at: Date;
  superseded_at: Date | null;
};

const EDGE_COLS = 'version_id, edge_id, scope_id, kind, source_id, target_id, weight, status, metadata, created_by, valid_from, valid_to, recorded_at, superseded_at';

const toEdge = (r: EdgeRow): GraphEdge => ({
  edgeId: r.edge_id,
  versionId: num(r.version_id),
  scope: r.scope_id,
  kind: r.kind,
  sourceId: r.source_id,
  targetId: r.target_id,
  weight: r.weight,
  status: r.status,
  metadata: r.metadata,
  createdBy: r.created_by,
  validFrom: r.valid_from,
  validTo: r.valid_to,
  recordedAt: r.recorded_at,
  supersededAt: r.superseded_at,
});

/** Serialise writers of one key until the transaction ends. */
async function lock(tx: Tx, key: string): Promise<void> {
  await tx.query('SELECT pg_advisory_xact_lock(hashtextextended($1, 0))', [key]);
}

async function currentNode(q: Queryable, nodeId: string): Promise<GraphNode | null> {
  const { rows } = await q.query<NodeRow>(`SELECT ${NODE_COLS} FROM graph_nodes WHERE node_id = $1 AND superseded_at IS NULL`, [nodeId]);
  return rows[0] ? toNode(rows[0]) : null;
}

/**
 * Lock the node (by id, or first by its content hash) and read its current version.
 * A write costs its round trips (0.3-1.5 ms each through the WebSocket proxy, far more
 * on a busy machine), so the locks and the read travel as ONE simple-protocol string of
 * statements (escaped literals): each statement takes its own snapshot under READ
 * COMMITTED, so the read sees what the lock's previous holder committed. Falls back to
 * one statement at a time on a client that cannot escape literals (a wrapping client,
 * such as the row-counting one of test/integration/core/figures-bounded.test.ts).
 */
async function lockedCurrent(
  tx: Tx,
  scope: string,
  kind: string,
  hash: string,
  knownId: string | undefined,
): Promise<{ nodeId: string | undefined; current: GraphNode | null }> {
  const byHash = (l: (v: string) => string) =>
    `SELECT node_id FROM graph_nodes WHERE scope_id = ${l(scope)} AND kind = ${l(kind)} AND content_hash = ${l(hash)} AND superseded_at IS NULL ORDER BY version_id LIMIT 1`;
  const esc = (tx as { escapeLiteral?: (v: string) => string }).escapeLiteral;
  if (typeof esc !== 'function') {
    let nodeId = knownId;
    if (!nodeId) {
      await lock(tx, `node-hash:${scope}:${kind}:${hash}`);
      const { rows } = await tx.query<{ node_id: string }>(
        `SELECT node_id FROM graph_nodes WHERE scope_id = $1 AND kind = $2 AND content_hash = $3 AND superseded_at IS NULL ORDER BY version_id LIMIT 1`,
        [scope, kind, hash],
      );
      nodeId = rows[0]?.node_id;
    }
    if (nodeId) await lock(tx, `node:${nodeId}`);
    return { nodeId, current: nodeId ? await currentNode(tx, nodeId) : null };
  }
  const l = (v: string) => esc.call(tx, v);
  if (knownId) {
    const res = (await tx.query(
      `SELECT pg_advisory_xact_lock(hashtextextended(${l(`node:${knownId}`)}, 0));
       SELECT ${NODE_COLS} FROM graph_nodes WHERE node_id = ${l(knownId)} AND superseded_at IS NULL`,
    )) as unknown as { rows: NodeRow[] }[];
    const row = res[1]!.rows[0];
    return { nodeId: knownId, current: row ? toNode(row) : null };
  }
  // The hash lock, then the node's own lock (by the id found under the hash lock), then its current version.
  const res = (await tx.query(
    `SELECT pg_advisory_xact_lock(hashtextextended(${l(`node-hash:${scope}:${kind}:${hash}`)}, 0));
     SELECT node_id, pg_advisory_xact_lock(hashtextextended('node:' || node_id, 0)) FROM (${byHash(l)}) f;
     SELECT ${NODE_COLS} FROM graph_nodes WHERE node_id = (${byHash(l)}) AND superseded_at IS NULL`,
  )) as unknown as { rows: Record<string, unknown>[] }[];
  const lockedId = res[1]!.rows[0]?.node_id as string | undefined;
  const row = res[2]!.rows[0] as NodeRow | undefined;
  if (!lockedId) return { nodeId: undefined, current: null };
  // Another writer re-versioned the node between the two reads (its hash changed): read it by the id we hold.
  if (!row || row.node_id !== lockedId) return { nodeId: lockedId, current: await currentNode(tx, lockedId) };
  return { nodeId: lockedId, current: toNode(row) };
}

/** Insert or version one node (in the caller's transaction, or a new one). */
export async function upsertNode(db: Db, input: NodeInput): Promise<WriteResult> {
  const n = NodeInput.parse(input);
  return inTransaction(db, (tx) => upsertNodeTx(tx, n));
}

async function upsertNodeTx(tx: Tx, n: z.output<typeof NodeInput>): Promise<WriteResult> {
  const hash = contentHash(n.content);
  const { nodeId, current } = await lockedCurrent(tx, n.scope, n.kind, hash, n.nodeId);
  if (current && (current.scope !== n.scope || current.kind !== n.kind)) {
    throw new PermanentError('node_mismatch', `node ${nodeId} is a ${current.kind} of scope ${current.scope}, not a ${n.kind} of ${n.scope}`);
  }
  if (!current && n.nodeId) {
    const { rowCount } = await tx.query('SELECT 1 FROM graph_nodes WHERE node_id = $1 LIMIT 1', [n.nodeId]);
    if (rowCount) throw new TransientError('node_race', `node ${n.nodeId} has no current version`);
  }
  const merged = mergeNode(current, {
    kind: n.kind,
    // Same text up to case and spacing is the same fact: keep the stored wording.
    content: current && contentHash(n.content) === current.contentHash ? current.content : n.content,
    ...(n.subject !== undefined ? { subject: n.subject } : {}),
    ...(n.metric !== undefined ? { metric: n.metric } : {}),
    ...(n.value !== undefined ? { value: n.value } : {}),
    ...(n.confidence !== undefined ? { confidence: n.confidence } : {}),
    ...(n.status !== undefined ? { status: n.status } : {}),
    ...(n.severity !== undefined ? { severity: n.severity } : {}),
    ...(n.sourceDoc !== undefined ? { sourceDoc: n.sourceDoc } : {}),
    ...(n.sourceRef !== undefined ? { sourceRef: n.sourceRef } : {}),
    ...(n.metadata !== undefined ? { metadata: n.metadata } : {}),
    ...(n.validFrom !== undefined ? { validFrom: n.validFrom } : {}),
    ...(n.validTo !== undefined ? { validTo: n.validTo } : {}),
  });
  const embedding = n.embedding ? toVectorLiteral(n.embedding) : null;
  if (merged.action === 'noop') {
    // An embedding is derived data, not a fact: attaching it does not make a new version.
    if (embedding && current && !current.hasEmbedding) await setEmbedding(tx, current.nodeId, n.embedding!);
    return { id: current!.nodeId, versionId: current!.versionId, action: 'noop', changed: [] };
  }
  const f = merged.next;
  const nextHash = contentHash(f.content);
  const params = [
    f.kind, f.content, f.subject, f.metric, f.value === null || f.value === undefined ? null : JSON.stringify(f.value),
    f.confidence, f.status, f.severity, f.sourceDoc, JSON.stringify(f.sourceRef), embedding, nextHash,
    JSON.stringify(f.metadata), f.validFrom, f.validTo,
  ];
  if (merged.action === 'insert') {
    const id = nodeId ?? randomUUID();
    const { rows } = await tx.query<{ version_id: string }>(
      `INSERT INTO graph_nodes (node_id, scope_id, kind, content, subject, metric, value, confidence, status, severity,
         source_doc, source_ref, embedding, content_hash, metadata, created_by, valid_from, valid_to, recorded_at)
       SELECT $16, $17, $1, $2, $3, $4, $5::jsonb, $6, $7, $8, $9, $10::jsonb, $11::vector, $12, $13::jsonb, $18,
              COALESCE($14::timestamptz, t), $15, t
         FROM (SELECT clock_timestamp() AS t) ts
       RETURNING version_id`,
      [...params, id, n.scope, n.createdBy],
    );
    return { id, versionId: num(rows[0]!.version_id), action: 'insert', changed: [] };
  }
  const { rows } = await tx.query<{ version_id: string }>(
    `WITH ts AS (SELECT clock_timestamp() AS t),
     old AS (
       UPDATE graph_nodes g SET superseded_at = ts.t FROM ts
        WHERE g.version_id = $16 AND g.superseded_at IS NULL
       RETURNING g.node_id, g.scope_id, g.embedding, g.created_by, ts.t
     )
     INSERT INTO graph_nodes (node_id, scope_id, kind, content, subject, metric, value, confidence, status, severity,
       source_doc, source_ref, embedding, content_hash, metadata, created_by, valid_from, valid_to, recorded_at)
     SELECT old.node_id, old.scope_id, $1, $2, $3, $4, $5::jsonb, $6, $7, $8, $9, $10::jsonb,
            COALESCE($11::vector, CASE WHEN $12 = $17 THEN old.embedding END), $12,
            $13::jsonb || jsonb_build_object('written_by', $18::text), old.created_by, $14, $15, old.t
       FROM old
     RETURNING version_id`,
    [...params, current!.versionId, current!.contentHash, n.createdBy],
  );
  if (!rows[0]) throw new TransientError('node_race', `node ${nodeId} changed under its lock`);
  return { id: nodeId!, versionId: num(rows[0].version_id), action: 'supersede', changed: merged.changed };
}

/** Attach (or replace) the embedding of a node's current version. Derived data: no new version. */
export async function setEmbedding(q: Queryable, nodeId: string, embedding: readonly number[]): Promise<boolean> {
  const { rowCount } = await q.query('UPDATE graph_nodes SET embedding = $2::vector WHERE node_id = $1 AND superseded_at IS NULL', [
    nodeId,
    toVectorLiteral(embedding),
  ]);
  return (rowCount ?? 0) > 0;
}

/** Lock an edge's key and read its current version: one round trip where the client can escape literals (see lockedCurrent). */
async function lockedEdge(tx: Tx, scope: string, kind: string, src: string, tgt: string): Promise<GraphEdge | null> {
  const key = `edge:${scope}:${kind}:${src}:${tgt}`;
  const esc = (tx as { escapeLiteral?: (v: string) => string }).escapeLiteral;
  if (typeof esc !== 'function') {
    await lock(tx, key);
    const { rows } = await tx.query<EdgeRow>(
      `SELECT ${EDGE_COLS} FROM graph_edges WHERE scope_id = $1 AND kind = $2 AND source_id = $3 AND target_id = $4 AND superseded_at IS NULL`,
      [scope, kind, src, tgt],
    );
    return rows[0] ? toEdge(rows[0]) : null;
  }
  const l = (v: string) => esc.call(tx, v);
  const res = (await tx.query(
    `SELECT pg_advisory_xact_lock(hashtextextended(${l(key)}, 0));
     SELECT ${EDGE_COLS} FROM graph_edges WHERE scope_id = ${l(scope)} AND kind = ${l(kind)} AND source_id = ${l(src)} AND target_id = ${l(tgt)} AND superseded_at IS NULL`,
  )) as unknown as { rows: EdgeRow[] }[];
  const row = res[1]!.rows[0];
  return row ? toEdge(row) : null;
}

/** Insert or version one edge. contradicts is symmetric: (a, b) and (b, a) are the same edge. */
export async function upsertEdge(db: Db, input: EdgeInput): Promise<WriteResult> {
  const e = EdgeInput.parse(input);
  return inTransaction(db, (tx) => upsertEdgeTx(tx, e));
}

async function upsertEdgeTx(tx: Tx, e: z.output<typeof EdgeInput>): Promise<WriteResult> {
  let [src, tgt] = [e.sourceId, e.targetId];
  if (src === tgt) throw new PermanentError('invalid_edge', 'an edge needs two different endpoints');
  if (SYMMETRIC_EDGE_KINDS.has(e.kind) && src > tgt) [src, tgt] = [tgt, src];
  const current = await lockedEdge(tx, e.scope, e.kind, src, tgt);
  if (!current) {
    // Endpoints must be current nodes of the scope (a resolves edge may target a contradiction edge).
    const { rows } = await tx.query<{ n: string }>(
      `SELECT (SELECT count(*) FROM graph_nodes WHERE scope_id = $1 AND node_id = ANY($2) AND superseded_at IS NULL)
            + (SELECT count(*) FROM graph_edges WHERE scope_id = $1 AND edge_id = $3 AND kind = 'contradicts' AND superseded_at IS NULL AND $4) AS n`,
      [e.scope, [src, tgt], tgt, e.kind === 'resolves'],
    );
    if (num(rows[0]!.n) < 2) throw new PermanentError('unknown_endpoint', `edge endpoints ${src}, ${tgt} are not current nodes of scope ${e.scope}`);
  }
  const merged = mergeEdge(current, {
    ...(e.weight !== undefined ? { weight: e.weight } : {}),
    ...(e.status !== undefined ? { status: e.status } : {}),
    ...(e.metadata !== undefined ? { metadata: e.metadata } : {}),
    ...(e.validFrom !== undefined ? { validFrom: e.validFrom } : {}),
    ...(e.validTo !== undefined ? { validTo: e.validTo } : {}),
  });
  if (merged.action === 'noop') return { id: current!.edgeId, versionId: current!.versionId, action: 'noop', changed: [] };
  const f = merged.next;
  if (merged.action === 'insert') {
    const id = randomUUID();
    const { rows } = await tx.query<{ version_id: string }>(
      `INSERT INTO graph_edges (edge_id, scope_id, kind, source_id, target_id, weight, status, metadata, created_by, valid_from, valid_to, recorded_at)
       SELECT $1, $2, $3, $4, $5, $6, $7, $8::jsonb, $9, COALESCE($10::timestamptz, t), $11, t FROM (SELECT clock_timestamp() AS t) ts
       RETURNING version_id`,
      [id, e.scope, e.kind, src, tgt, f.weight, f.status, JSON.stringify(f.metadata), e.createdBy, f.validFrom, f.validTo],
    );
    return { id, versionId: num(rows[0]!.version_id), action: 'insert', changed: [] };
  }
  const { rows } = await tx.query<{ version_id: string }>(
    `WITH ts AS (SELECT clock_timestamp() AS t),
     old AS (
       UPDATE graph_edges g SET superseded_at = ts.t FROM ts WHERE g.version_id = $1 AND g.superseded_at IS NULL
       RETURNING g.edge_id, g.scope_id, g.kind, g.source_id, g.target_id, g.created_by, ts.t
     )
     INSERT INTO graph_edges (edge_id, scope_id, kind, source_id, target_id, weight, status, metadata, created_by, valid_from, valid_to, recorded_at)
     SELECT old.edge_id, old.scope_id, old.kind, old.source_id, old.target_id, $2, $3, $4::jsonb || jsonb_build_object('written_by', $7::text),
            old.created_by, $5, $6, old.t
       FROM old
     RETURNING version_id`,
    [current!.versionId, f.weight, f.status, JSON.stringify(f.metadata), f.validFrom, f.validTo, e.createdBy],
  );
  if (!rows[0]) throw new TransientError('edge_race', `edge ${current!.edgeId} changed under its lock`);
  return { id: current!.edgeId, versionId: num(rows[0].version_id), action: 'supersede', changed: merged.changed };
}

/** Mark a contradiction (or any edge) resolved. Final: it never re-opens. */
export async function resolveEdge(db: Db, scope: string, edgeId: string, by: string, note?: string): Promise<WriteResult> {
  return inTransaction(db, async (tx) => {
    const { rows } = await tx.query<EdgeRow>(`SELECT ${EDGE_COLS} FROM graph_edges WHERE edge_id = $1 AND scope_id = $2 AND superseded_at IS NULL`, [edgeId, scope]);
    const e = rows[0];
    if (!e) throw new PermanentError('unknown_edge', `edge ${edgeId} is not a current edge of scope ${scope}`);
    return upsertEdgeTx(tx, {
      scope,
      kind: e.kind,
      sourceId: e.source_id,
      targetId: e.target_id,
      status: 'resolved',
      metadata: { resolved_by: by, ...(note ? { resolution: note } : {}) },
      createdBy: by,
    });
  });
}

export interface AsOf {
  /** Valid time: what held in the world at this instant. */
  validAt?: Date;
  /** Transaction time: what the database believed at this instant. */
  knownAt?: Date;
}

function asOfSql(alias: string, at: AsOf, params: unknown[]): string {
  const parts: string[] = [];
  if (at.knownAt) {
    params.push(at.knownAt);
    const p = `$${params.length}`;
    parts.push(`${alias}.recorded_at <= ${p} AND (${alias}.superseded_at IS NULL OR ${alias}.superseded_at > ${p})`);
  } else {
    parts.push(`${alias}.superseded_at IS NULL`);
  }
  if (at.validAt) {
    params.push(at.validAt);
    const p = `$${params.length}`;
    parts.push(`${alias}.valid_from <= ${p} AND (${alias}.valid_to IS NULL OR ${alias}.valid_to > ${p})`);
  }
  return parts.join(' AND ');
}

type Filter<K, S> = AsOf & { kinds?: readonly K[]; statuses?: readonly S[]; limit?: number };

/** One scope's versions of a table as of the given times, filtered by kind and status. */
async function versionsOf<R extends Record<string, unknown>>(q: Queryable, table: 'graph_nodes' | 'graph_edges', cols: string, scope: string, opts: Filter<string, string>): Promise<R[]> {
  const params: unknown[] = [scope];
  let where = `t.scope_id = $1 AND ${asOfSql('t', opts, params)}`;
  if (opts.kinds) {
    params.push(opts.kinds);
    where += ` AND t.kind = ANY($${params.length})`;
  }
  if (opts.statuses) {
    params.push(opts.statuses);
    where += ` AND t.status = ANY($${params.length})`;
  }
  params.push(Math.min(Math.max(opts.limit ?? 500, 1), 5000));
  const { rows } = await q.query<R>(`SELECT ${cols} FROM ${table} t WHERE ${where} ORDER BY t.version_id LIMIT $${params.length}`, params);
  return rows;
}

/** Nodes as of valid time and/or transaction time (current versions by default). */
export async function queryNodes(q: Queryable, scope: string, opts: Filter<NodeKind, NodeStatus> = {}): Promise<GraphNode[]> {
  return (await versionsOf<NodeRow>(q, 'graph_nodes', NODE_COLS, scope, opts)).map(toNode);
}

export async function queryEdges(q: Queryable, scope: string, opts: Filter<EdgeKind, EdgeStatus> = {}): Promise<GraphEdge[]> {
  return (await versionsOf<EdgeRow>(q, 'graph_edges', EDGE_COLS, scope, opts)).map(toEdge);
}

/** One node as of the given times (current version by default). */
export async function getNode(q: Queryable, nodeId: string, at: AsOf = {}): Promise<GraphNode | null> {
  const params: unknown[] = [nodeId];
  const { rows } = await q.query<NodeRow>(`SELECT ${NODE_COLS} FROM graph_nodes n WHERE n.node_id = $1 AND ${asOfSql('n', at, params)}`, params);
  return rows[0] ? toNode(rows[0]) : null;
}

/** Current versions of these nodes of the scope, by id. */
export async function currentNodesById(q: Queryable, scope: string, ids: readonly string[]): Promise<Map<string, GraphNode>> {
  if (!ids.length) return new Map();
  const { rows } = await q.query<NodeRow>(`SELECT ${NODE_COLS} FROM graph_nodes WHERE scope_id = $1 AND node_id = ANY($2::uuid[]) AND superseded_at IS NULL`, [
    scope,
    [...new Set(ids)],
  ]);
  return new Map(rows.map((r) => [r.node_id, toNode(r)]));
}

/** Every version of a node, oldest first. */
export async function nodeHistory(q: Queryable, nodeId: string): Promise<GraphNode[]> {
  const { rows } = await q.query<NodeRow>(`SELECT ${NODE_COLS} FROM graph_nodes WHERE node_id = $1 ORDER BY recorded_at, version_id`, [nodeId]);
  return rows.map(toNode);
}

export async function edgeHistory(q: Queryable, edgeId: string): Promise<GraphEdge[]> {
  const { rows } = await q.query<EdgeRow>(`SELECT ${EDGE_COLS} FROM graph_edges WHERE edge_id = $1 ORDER BY recorded_at, version_id`, [edgeId]);
  return rows.map(toEdge);
}

/** Current claims without a figure whose text is this one (up to case and spacing): the content hash. */
export async function figureFreeClaimsWithText(q: Queryable, scope: string, text: string): Promise<{ nodeId: string; content: string }[]> {
  const { rows } = await q.query<{ node_id: string; content: string }>(
    `SELECT node_id, content FROM graph_nodes WHERE scope_id = $1 AND kind = 'claim' AND content_hash = $2 AND superseded_at IS NULL AND metric IS NULL LIMIT 1`,
    [scope, contentHash(text)],
  );
  return rows.map((r) => ({ nodeId: r.node_id, content: r.content }));
}

/** Open contradictions touching any of these nodes, oldest first, at most `limit` (a revision's candidates). */
export async function openContradictionsOf(q: Queryable, scope: string, nodeIds: readonly string[], limit = 500): Promise<GraphEdge[]> {
  if (!nodeIds.length) return [];
  const { rows } = await q.query<EdgeRow>(
    `SELECT ${EDGE_COLS} FROM graph_edges
      WHERE scope_id = $1 AND kind = 'contradicts' AND status = 'active' AND superseded_at IS NULL AND (source_id = ANY($2::uuid[]) OR target_id = ANY($2::uuid[]))
      ORDER BY version_id LIMIT $3`,
    [scope, [...new Set(nodeIds)], Math.min(Math.max(limit, 1), 5000)],
  );
  return rows.map(toEdge);
}

/** Current claims still without an embedding, oldest first, at most `limit` (index graph_nodes_unembedded_claims). */
export async function unembeddedClaims(q: Queryable, scope: string, limit = 64): Promise<GraphNode[]> {
  const { rows } = await q.query<NodeRow>(
    `SELECT ${NODE_COLS} FROM graph_nodes WHERE scope_id = $1 AND kind = 'claim' AND superseded_at IS NULL AND embedding IS NULL ORDER BY version_id LIMIT $2`,
    [scope, Math.min(Math.max(limit, 1), 500)],
  );
  return rows.map(toNode);
}

/** Contradictions (any status) with both ends among these nodes, as domain/figure-plan.ts pairKey. */
export async function contradictionPairsAmong(q: Queryable, scope: string, nodeIds: readonly string[]): Promise<Set<string>> {
  if (nodeIds.length < 2) return new Set();
  const { rows } = await q.query<{ source_id: string; target_id: string }>(
    `SELECT source_id, target_id FROM graph_edges
      WHERE scope_id = $1 AND kind = 'contradicts' AND superseded_at IS NULL AND source_id = ANY($2::uuid[]) AND target_id = ANY($2::uuid[])`,
    [scope, [...new Set(nodeIds)]],
  );
  return new Set(rows.map((r) => pairKey(r.source_id, r.target_id)));
}

/** The current claim an upsert of this content would update (the lookup upsertNode makes without an id). */
export async function claimWithContent(q: Queryable, scope: string, content: string): Promise<GraphNode | null> {
  const { rows } = await q.query<NodeRow>(
    `SELECT ${NODE_COLS} FROM graph_nodes WHERE scope_id = $1 AND kind = 'claim' AND content_hash = $2 AND superseded_at IS NULL ORDER BY version_id LIMIT 1`,
    [scope, contentHash(content)],
  );
  return rows[0] ? toNode(rows[0]) : null;
}

/** A current claim as a document's plan sees it. */
export const currentClaim = (n: GraphNode): CurrentClaim => ({ nodeId: n.nodeId, content: n.content, metric: n.metric, status: n.status, hasEmbedding: n.hasEmbedding });

export interface GoalRow {
  nodeId: string;
  content: string;
  subject: string | null;
  metric: string | null;
  value: Record<string, unknown> | null;
  sourceDoc: string | null;
  metadata: Record<string, unknown>;
  embedding: number[] | null;
}

/** The scope's goals that still count (not irrelevant), with their embeddings. */
export async function currentGoals(q: Queryable, scope: string, limit = 500): Promise<GoalRow[]> {
  const { rows } = await q.query<{ node_id: string; content: string; subject: string | null; metric: string | null; value: Record<string, unknown> | null; source_doc: string | null; metadata: Record<string, unknown>; vec: string | null }>(
    `SELECT node_id, content, subject, metric, value, source_doc, metadata, embedding::text AS vec FROM graph_nodes
      WHERE scope_id = $1 AND kind = 'goal' AND superseded_at IS NULL AND status <> 'irrelevant' ORDER BY version_id LIMIT $2`,
    [scope, limit],
  );
  return rows.map((r) => ({ nodeId: r.node_id, content: r.content, subject: r.subject, metric: r.metric, value: r.value, sourceDoc: r.source_doc, metadata: r.metadata, embedding: r.vec ? (JSON.parse(r.vec) as number[]) : null }));
}

export interface Neighbour {
  node: GraphNode;
  /** Cosine similarity in [-1, 1]. */
  similarity: number;
}

/** Current claims nearest to an embedding (cosine), best first. */
export async function nearestClaims(
  q: Queryable,
  scope: string,
  embedding: readonly number[],
  opts: { k?: number; minSimilarity?: number; statuses?: readonly NodeStatus[]; kind?: NodeKind } = {},
): Promise<Neighbour[]> {
  const { rows } = await q.query<NodeRow & { similarity: number }>(
    `SELECT ${NODE_COLS}, 1 - (embedding <=> $2::vector) AS similarity
       FROM graph_nodes
      WHERE scope_id = $1 AND kind = $5 AND superseded_at IS NULL AND embedding IS NOT NULL AND status = ANY($4)
      ORDER BY embedding <=> $2::vector
      LIMIT $3`,
    [scope, toVectorLiteral(embedding), Math.min(Math.max(opts.k ?? 5, 1), 100), opts.statuses ?? ['active', 'in_progress'], opts.kind ?? 'claim'],
  );
  return rows
    .map((r) => ({ node: toNode(r), similarity: Number(r.similarity) }))
    .filter((n) => opts.minSimilarity === undefined || n.similarity >= opts.minSimilarity);
}

// ------------------------------------------------------------------- a document's graph plan

/**
 * What planGraphUpdate needs to know of the graph for the claims without a figure, read
 * once before the document's writes: same-text figure-free claims, nearest neighbours,
 * and the nodes involved (the figure claims' nodes come with the figures' read). A
 * figure claim's node gets this document's vector before the later claims are matched,
 * which may move it out of their nearest three: each figure claim earlier in the
 * document adds one neighbour to read, so the plan still sees the three the graph would
 * have returned at that point.
 */
export async function readGraphForPlan(
  q: Queryable,
  scope: string,
  claims: readonly (Pick<PlanClaim, 'text' | 'vector'> & { figure?: boolean })[],
): Promise<{ now: GraphNow; neighbours: Neighbours }> {
  const sameText: (string | undefined)[] = [];
  const neighbours: { nodeId: string; similarity: number }[][] = [];
  const nodes = new Map<string, CurrentClaim>();
  const keep = (n: GraphNode) => nodes.set(n.nodeId, currentClaim(n));
  let reembedded = 0;
  for (const c of claims) {
    if (c.figure) {
      if (c.vector) reembedded++;
      sameText.push(undefined);
      neighbours.push([]);
      continue;
    }
    const k = Math.min(CLAIM_NEIGHBOURS + reembedded, 100);
    const hit = (await figureFreeClaimsWithText(q, scope, c.text))[0];
    sameText.push(hit?.nodeId);
    const near = c.vector ? await nearestClaims(q, scope, c.vector, { k, minSimilarity: SAME_CLAIM_MIN_COSINE }) : [];
    near.forEach((n) => keep(n.node));
    neighbours.push(near.map((n) => ({ nodeId: n.node.nodeId, similarity: n.similarity })));
  }
  const wanted = sameText.filter((x): x is string => !!x && !nodes.has(x));
  for (const n of (await currentNodesById(q, scope, wanted)).values()) keep(n);
  return { now: { nodes, sameText }, neighbours };
}

const docsOf = (n: { sourceRef: Record<string, unknown> }): string[] => (Array.isArray(n.sourceRef.docs) ? (n.sourceRef.docs as string[]) : []);

/**
 * Write a document's plan, in order, in the caller's transaction. Returns the claims left
 * without a vector and the contradictions inserted (a pair written again is not new).
 */
export async function applyGraphOps(tx: Tx, scope: string, createdBy: string, plan: GraphPlan): Promise<{ unembedded: number; contradictionsFound: number }> {
  const doc = plan.docId;
  const ids = new Map<number, string>();
  const idOf = (t: Target) => {
    const id = 'ref' in t ? ids.get(t.ref) : t.nodeId;
    if (!id) throw new PermanentError('plan_ref', `op ${(t as { ref: number }).ref} of the plan of ${doc} inserted no node`);
    return id;
  };
  let unembedded = plan.unembedded;
  let contradictionsFound = 0;
  for (const [i, o] of plan.ops.entries()) {
    switch (o.op) {
      case 'resolve':
        await upsertEdge(tx, { scope, kind: 'contradicts', sourceId: o.sourceId, targetId: o.targetId, status: 'resolved', createdBy, metadata: { resolved_by: createdBy, resolution: o.resolution } });
        break;
      case 'retire':
        await markRevised(tx, scope, o.figureIds, doc);
        break;
      case 'restate-figure': {
        // Read when written: a node restated twice by one document is corroborated twice.
        const existing = await getNode(tx, o.nodeId);
        if (!existing) throw new TransientError('node_race', `node ${o.nodeId} has no current version`);
        await upsertNode(tx, {
          scope, kind: 'claim', nodeId: existing.nodeId, content: existing.content, createdBy,
          confidence: corroborate(existing.confidence, o.confidence),
          sourceRef: { docs: [...new Set([...docsOf(existing), doc])] },
          metadata: { [`restated_in_${doc}`]: o.by },
        });
        break;
      }
      case 'figure-claim': {
        const w = await upsertNode(tx, {
          scope, kind: 'claim', content: o.content, createdBy, confidence: o.confidence, sourceDoc: doc,
          sourceRef: { docs: [doc] }, subject: o.subject, metric: o.metric, value: o.value, metadata: o.metadata,
        });
        ids.set(i, w.id);
        break;
      }
      case 'figure':
        await insertFigure(tx, { scope, nodeId: idOf(o.node), docId: doc, statement: o.statement, subjectText: o.subjectText, vector: o.vector, sentence: o.sentence });
        break;
      case 'contradiction': {
        const mine = idOf(o.node);
        const [a, b] = [mine, o.other].sort();
        const side = (id: string) => {
          const value = id === mine ? o.value : o.otherValue;
          return { node_id: id, value, display: formatValue(value) };
        };
        const meta: ContradictionMeta = { ...o.meta, sides: [side(a!), side(b!)] };
        const r = await upsertEdge(tx, { scope, kind: 'contradicts', sourceId: a!, targetId: b!, createdBy, metadata: meta as unknown as Record<string, unknown> });
        if (r.action === 'insert') contradictionsFound++;
        break;
      }
      case 'goal-state':
        await upsertNode(tx, { scope, kind: 'goal', nodeId: o.nodeId, content: o.content, createdBy, status: o.status, metadata: o.metadata });
        break;
      case 'goal':
        await upsertNode(tx, {
          scope, kind: 'goal', content: o.content, createdBy, sourceDoc: doc, confidence: 0.8,
          ...(o.subject !== undefined ? { subject: o.subject, metric: o.metric, value: o.value } : {}),
          metadata: o.metadata,
          ...(o.vector ? { embedding: o.vector } : {}),
        });
        break;
      case 'embed':
        await setEmbedding(tx, idOf(o.target), o.vector);
        break;
      case 'claim': {
        const matched = o.match ? idOf(o.match.target) : undefined;
        const existing = matched ? await getNode(tx, matched) : null;
        // The match is read again here: restating the same node twice corroborates it twice.
        if (existing && !existing.metric) {
          await upsertNode(tx, {
            scope, kind: 'claim', nodeId: existing.nodeId, content: existing.content, createdBy,
            confidence: corroborate(existing.confidence, o.confidence),
            sourceRef: { docs: [...new Set([...docsOf(existing), doc])] },
            metadata: { [`restated_in_${doc}`]: o.match!.by },
            ...(o.vector && !existing.hasEmbedding ? { embedding: o.vector } : {}),
          });
          break;
        }
        const w = await upsertNode(tx, {
          scope, kind: 'claim', content: o.content, createdBy, confidence: o.confidence, sourceDoc: doc,
          sourceRef: { docs: [doc] },
          metadata: { ...(o.section ? { section: o.section } : {}), ...(o.span ? { span: o.span } : {}) },
          ...(o.vector ? { embedding: o.vector } : {}),
        });
        if (!o.vector) unembedded++;
        ids.set(i, w.id);
        break;
      }
      case 'risk': {
        const node = await upsertNode(tx, { scope, kind: 'risk', content: o.content, createdBy, severity: o.severity, sourceDoc: doc, confidence: 0.8, ...(o.mitigation ? { metadata: { mitigation: o.mitigation } } : {}) });
        // The risk dimension reads assessments: each risk's estimated impact on the scope.
        await upsertNode(tx, {
          scope, kind: 'assessment', content: `Impact of risk: ${o.content}`, createdBy, severity: o.severity, sourceDoc: doc, confidence: 0.8,
          metadata: { risk_delta: o.riskDelta, risk_node_id: node.id, mitigated: Boolean(o.mitigation) },
        });
        break;
      }
    }
  }
  return { unembedded, contradictionsFound };
}
