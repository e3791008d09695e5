// Finality snapshot of a scope (reference §3.3), aggregated in one query (its CTEs are
// inlined, NOT MATERIALIZED, so the planner sees table statistics and hashes the
// anti-joins; materialized, it guessed one row and nested loops made it quadratic): claim
// confidence, contradictions, goals, risks, assessments, evidence coverage, and the
// quiescence inputs (graph revision and last change, last activity, idle rounds).
//
// Contradictions are `contradicts` edges whose claims held at overlapping valid times.
// One is unresolved while the edge is active, both claims are still live, and no current
// `resolves` edge targets the edge or joins the same two claims. A contradiction that
// was resolved, went stale, or lost a claim stays in the total and counts as settled
// (the earlier implementation dropped those from the denominator).
import type { FinalityPolicy } from '../domain/policy.ts';
import { emptySnapshot, type ContradictionRef, type Snapshot } from '../domain/snapshot.ts';
import { num, ScopeNotFoundError, type Queryable } from './db.ts';
import type { ScopeStatus } from './scopes.ts';

export const SNAPSHOT_SQL = `
WITH n AS NOT MATERIALIZED (
  SELECT node_id, kind, confidence, status, severity, source_doc, metadata, valid_from, valid_to
    FROM graph_nodes WHERE scope_id = $1 AND superseded_at IS NULL
), nv AS NOT MATERIALIZED (
  SELECT * FROM n WHERE valid_from <= $2 AND (valid_to IS NULL OR valid_to > $2)
), claims AS (
  SELECT * FROM nv WHERE kind = 'claim' AND status IN ('active', 'in_progress')
), e AS NOT MATERIALIZED (
  SELECT edge_id, kind, source_id, target_id, weight, status FROM graph_edges WHERE scope_id = $1 AND superseded_at IS NULL
), contra AS NOT MATERIALIZED (
  SELECT c.edge_id, c.source_id, c.target_id, c.weight, c.status, a.status AS a_status, b.status AS b_status
    FROM e c JOIN n a ON a.node_id = c.source_id JOIN n b ON b.node_id = c.target_id
   WHERE c.kind = 'contradicts'
     AND a.valid_from < COALESCE(b.valid_to, 'infinity') AND b.valid_from < COALESCE(a.valid_to, 'infinity')
), res AS NOT MATERIALIZED (
  SELECT source_id, target_id FROM e WHERE kind = 'resolves' AND status <> 'irrelevant'
), unresolved AS (
  -- Three anti-joins on equalities (hashable), not one with an OR: linear, not contra × edges.
  SELECT x.* FROM contra x
   WHERE x.status = 'active' AND x.a_status IN ('active', 'in_progress') AND x.b_status IN ('active', 'in_progress')
     AND NOT EXISTS (SELECT 1 FROM res r WHERE r.target_id = x.edge_id)
     AND NOT EXISTS (SELECT 1 FROM res r WHERE r.source_id = x.source_id AND r.target_id = x.target_id)
     AND NOT EXISTS (SELECT 1 FROM res r WHERE r.source_id = x.target_id AND r.target_id = x.source_id)
)
SELECT json_build_object(
  'claims_count', (SELECT count(*) FROM claims),
  'claims_min', (SELECT min(confidence) FROM claims),
  'claims_avg', (SELECT avg(confidence) FROM claims),
  'claims_sourced', (SELECT count(*) FROM claims c
                      WHERE c.source_doc IS NOT NULL
                         OR EXISTS (SELECT 1 FROM e s WHERE s.kind = 'supports' AND s.status = 'active' AND s.target_id = c.node_id)),
  'low_conf_ids', (SELECT coalesce(json_agg(node_id ORDER BY confidence, node_id), '[]')
                     FROM (SELECT node_id, confidence FROM claims WHERE confidence < $3 ORDER BY confidence, node_id LIMIT 50) t),
  'contra_total', (SELECT count(*) FROM contra),
  'contra_unresolved', (SELECT count(*) FROM unresolved),
  'contra_mass', (SELECT coalesce(sum(weight), 0) FROM unresolved),
  'unresolved', (SELECT coalesce(json_agg(json_build_object('edge_id', edge_id, 'source_id', source_id, 'target_id', target_id) ORDER BY edge_id), '[]')
                   FROM (SELECT * FROM unresolved ORDER BY edge_id LIMIT 50) t),
  'goals_total', (SELECT count(*) FROM n WHERE kind = 'goal' AND status <> 'irrelevant'),
  'goals_resolved', (SELECT count(*) FROM n WHERE kind = 'goal' AND status = 'resolved'),
  'goals_unreachable', (SELECT count(*) FROM n WHERE kind = 'goal' AND status IN ('active', 'in_progress') AND metadata->>'state' = 'unreachable'),
  'open_goal_ids', (SELECT coalesce(json_agg(node_id ORDER BY node_id), '[]')
                      FROM (SELECT node_id FROM n WHERE kind = 'goal' AND status IN ('active', 'in_progress') ORDER BY node_id LIMIT 50) t),
  'critical_risk_ids', (SELECT coalesce(json_agg(node_id ORDER BY node_id), '[]')
                          FROM nv WHERE kind = 'risk' AND severity = 'critical' AND status IN ('active', 'in_progress')),
  'risk_score', (SELECT coalesce(sum((metadata->>'risk_delta')::float8), 0)
                   FROM nv WHERE kind = 'assessment' AND status IN ('active', 'in_progress') AND jsonb_typeof(metadata->'risk_delta') = 'number'),
  'critical_assessment_ids', (SELECT coalesce(json_agg(node_id ORDER BY node_id), '[]')
                                FROM nv WHERE kind = 'assessment' AND severity = 'critical' AND status IN ('active', 'in_progress')),
  'kinds_present', (SELECT coalesce(json_agg(DISTINCT kind), '[]') FROM n WHERE status <> 'irrelevant'),
  'graph_revision', GREATEST((SELECT max(version_id) FROM graph_nodes WHERE scope_id = $1),
                             (SELECT max(version_id) FROM graph_edges WHERE scope_id = $1)),
  'last_change_at', GREATEST((SELECT max(recorded_at) FROM graph_nodes WHERE scope_id = $1),
                             (SELECT max(recorded_at) FROM graph_edges WHERE scope_id = $1)),
  'created_at', s.created_at,
  'last_activity_at', s.last_activity_at,
  'status', s.status,
  'evidence_seq', (SELECT coalesce(max(seq), 0) FROM context_log WHERE scope_id = $1 AND kind = ANY($4)),
  'prev_round', (SELECT json_build_object('round', round, 'graph_revision', snapshot->'graph_revision', 'idle_cycles', snapshot->'idle_cycles')
                   FROM convergence_history WHERE scope_id = $1 ORDER BY round DESC LIMIT 1)
) AS snap
FROM scopes s WHERE s.scope_id = $1`;

interface Raw {
  claims_count: number;
  claims_min: number | null;
  claims_avg: number | null;
  claims_sourced: number;
  low_conf_ids: string[];
  contra_total: number;
  contra_unresolved: number;
  contra_mass: number;
  unresolved: ContradictionRef[];
  goals_total: number;
  goals_resolved: number;
  goals_unreachable: number;
  open_goal_ids: string[];
  critical_risk_ids: string[];
  risk_score: number;
  critical_assessment_ids: string[];
  kinds_present: string[];
  graph_revision: number | null;
  last_change_at: string | null;
  created_at: string;
  last_activity_at: string;
  status: ScopeStatus;
  evidence_seq: number;
  prev_round: { round: number; graph_revision: number | null; idle_cycles: number | null } | null;
}

export interface LoadedSnapshot {
  snapshot: Snapshot;
  status: ScopeStatus;
  /** The latest convergence round, if any. */
  previousRound: number;
}

/**
 * The scope as of `now`. Idle cycles are counted as if this were a new evaluation round:
 * one more than the previous round's when the graph has not changed since it, else 0.
 */
export async function loadSnapshot(q: Queryable, scope: string, policy: FinalityPolicy, now: Date = new Date()): Promise<LoadedSnapshot> {
  const { rows } = await q.query<{ snap: Raw }>(SNAPSHOT_SQL, [scope, now, policy.goal_gradient.claim_confidence_target, policy.evidence.log_kinds]);
  const r = rows[0]?.snap;
  if (!r) throw new ScopeNotFoundError(scope);
  const claims = num(r.claims_count);
  const goals = num(r.goals_total);
  const resolvedGoals = num(r.goals_resolved);
  const revision = num(r.graph_revision);
  const prevRevision = r.prev_round?.graph_revision ?? null;
  const idle = r.prev_round && prevRevision !== null && num(prevRevision) === revision ? num(r.prev_round.idle_cycles) + 1 : 0;
  const lastChange = r.last_change_at ? new Date(r.last_change_at) : new Date(r.created_at);
  const present = new Set(r.kinds_present);
  const snapshot = emptySnapshot({
    claims_active_count: claims,
    claims_active_min_confidence: claims > 0 ? Number(r.claims_min) : 0,
    claims_active_avg_confidence: claims > 0 ? Number(r.claims_avg) : 0,
    contradictions_total_count: num(r.contra_total),
    contradictions_unresolved_count: num(r.contra_unresolved),
    contradiction_mass: Number(r.contra_mass),
    goals_total_count: goals,
    goals_resolved_count: resolvedGoals,
    goals_completion_ratio: goals > 0 ? resolvedGoals / goals : 1,
    goals_unreachable_count: num(r.goals_unreachable),
    risks_critical_active_count: r.critical_risk_ids.length,
    scope_risk_score: Math.min(1, Math.max(0, Number(r.risk_score))),
    assessments_critical_unaddressed_count: r.critical_assessment_ids.length,
    evidence_coverage: claims > 0 ? num(r.claims_sourced) / claims : 1,
    evidence_missing_kinds: policy.evidence.required_kinds.filter((k) => !present.has(k)),
    idle_cycles: idle,
    last_delta_age_ms: Math.max(0, now.getTime() - lastChange.getTime()),
    last_active_age_ms: Math.max(0, now.getTime() - new Date(r.last_activity_at).getTime()),
    graph_revision: revision,
    evidence_seq: num(r.evidence_seq),
    blockers: {
      unresolved_contradictions: r.unresolved,
      low_confidence_claim_ids: r.low_conf_ids,
      open_goal_ids: r.open_goal_ids,
      critical_risk_ids: r.critical_risk_ids,
      critical_assessment_ids: r.critical_assessment_ids,
    },
  });
  return { snapshot, status: r.status, previousRound: r.prev_round ? num(r.prev_round.round) : 0 };
}
