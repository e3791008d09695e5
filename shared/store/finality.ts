// One finality evaluation round, in one transaction under the scope row lock:
// snapshot → convergence round (once per message) → evaluate → record the decision →
// status change, certificate, review request, context-log events. A redelivered
// evaluation message returns the stored decision and adds nothing. `previewFinality`
// computes the same answer for a read (a summary endpoint) without writing anything.
import { z } from 'zod';
import { ScopeId } from '../contract/envelope.ts';
import { PermanentError } from '../contract/errors.ts';
import type { ConvergencePoint } from '../domain/convergence.ts';
import { evaluateFinality, pointFor, type CertifiedState, type FinalityEvaluation, type FinalityOutcome } from '../domain/finality.ts';
import { buildReviewRequest, type FinalityReviewRequest } from '../domain/review.ts';
import type { PolicySource } from '../policy/load.ts';
import type { RuleOutcome } from '../policy/schema.ts';
import { issueCertificate, latestCertificate, type CertificateSigner, type StoredCertificate } from './certificates.ts';
import { appendEvent } from './context-log.ts';
import { appendRound, loadHistory } from './convergence.ts';
import { inTransaction, ScopeNotFoundError, type Db, type PoolClient, type Queryable } from './db.ts';
import { ensurePolicyVersion } from './policies.ts';
import { latestHumanDecision, supersedeFinalityReview, upsertFinalityReview } from './reviews.ts';
import type { ScopeStatus } from './scopes.ts';
import { listContradictions, listGoals, type ContradictionView } from './contradictions.ts';
import { loadSnapshot } from './snapshot.ts';
import { readState } from './state.ts';

const STATUS_OF: Record<FinalityOutcome, ScopeStatus> = {
  RESOLVED: 'resolved',
  ESCALATED: 'escalated',
  BLOCKED: 'blocked',
  EXPIRED: 'expired',
  REVIEW: 'open',
  ACTIVE: 'open',
};

/** Outcomes after which a pending finality review no longer makes sense. */
const SUPERSEDES_REVIEW: ReadonlySet<FinalityOutcome> = new Set(['RESOLVED', 'ESCALATED', 'EXPIRED']);

/** A contradiction as a reviewer reads it: the subject, both values, who states each, in which sentence. */
export const contradictionBrief = (c: ContradictionView) => ({
  subject: c.subject,
  unit: c.unit,
  period: c.period,
  sides: c.sides.map((s) => ({ value: s.display, stated_by: s.stated_by.slice(0, 5) })),
});

export interface FinalityDeps {
  db: Db;
  policies: PolicySource;
  /** Needed only when an outcome is certified; missing → a clear error at that moment. */
  signer: CertificateSigner | null;
  now?: () => Date;
}

export const EvaluateInput = z.object({
  scope: ScopeId,
  /** The evaluation message: a redelivery of it returns the stored result. */
  messageId: z.string().min(1).max(200).nullable().default(null),
});

export interface FinalityRoundResult {
  scope: string;
  round: number;
  replayed: boolean;
  outcome: FinalityOutcome;
  decidedBy: string;
  statusBefore: ScopeStatus;
  statusAfter: ScopeStatus;
  evaluation: FinalityEvaluation;
  certificate: StoredCertificate | null;
  review: { reviewId: string; created: boolean; request: FinalityReviewRequest } | null;
}

async function certifiedState(q: Queryable, scope: string, status: ScopeStatus): Promise<{ latest: StoredCertificate | null; certified: CertifiedState | null }> {
  const latest = await latestCertificate(q, scope);
  const certified =
    latest && STATUS_OF[latest.outcome] === status
      ? { certificate_id: latest.certificateId, seq: latest.seq, outcome: latest.outcome, basis: latest.payload.basis }
      : null;
  return { latest, certified };
}

async function replay(tx: PoolClient, scope: string, messageId: string, status: ScopeStatus): Promise<FinalityRoundResult | null> {
  const { rows } = await tx.query<{ round: number; outcome: FinalityOutcome; decided_by: string; details: StoredDetails }>(
    'SELECT round, outcome, decided_by, details FROM finality_decisions WHERE scope_id = $1 AND message_id = $2',
    [scope, messageId],
  );
  const r = rows[0];
  if (!r) return null;
  const cert = r.details.certificate_id ? await latestCertificate(tx, scope) : null;
  return {
    scope,
    round: r.round,
    replayed: true,
    outcome: r.outcome,
    decidedBy: r.decided_by,
    statusBefore: r.details.status_before,
    statusAfter: status,
    evaluation: r.details.evaluation,
    certificate: cert && cert.certificateId === r.details.certificate_id ? cert : null,
    review: r.details.review ?? null,
  };
}

interface StoredDetails {
  evaluation: FinalityEvaluation;
  status_before: ScopeStatus;
  certificate_id: string | null;
  review: FinalityRoundResult['review'];
  policy_versions: { governance: string; finality: string };
}

export async function evaluateScopeFinality(deps: FinalityDeps, input: z.input<typeof EvaluateInput>): Promise<FinalityRoundResult> {
  const { scope, messageId } = EvaluateInput.parse(input);
  const gov = deps.policies.governance();
  const fin = deps.policies.finality();
  const p = fin.policy;
  const now = deps.now?.() ?? new Date();
  return inTransaction(deps.db, async (tx) => {
    // One evaluation at a time per scope: rounds, certificates and status stay consistent.
    const locked = await tx.query<{ status: ScopeStatus }>('SELECT status FROM scopes WHERE scope_id = $1 FOR UPDATE', [scope]);
    if (!locked.rows[0]) throw new ScopeNotFoundError(scope);
    const statusBefore = locked.rows[0].status;
    if (messageId) {
      const stored = await replay(tx, scope, messageId, statusBefore);
      if (stored) return stored;
    }

    const { snapshot } = await loadSnapshot(tx, scope, p, now);
    const point = pointFor(snapshot, p);
    const state = await readState(tx, scope);
    const { round } = await appendRound(tx, { scope, messageId, epoch: state?.epoch ?? 0, point, snapshot });
    const history = await loadHistory(tx, scope, p.convergence.history_depth, round);
    const human = await latestHumanDecision(tx, scope);
    const { certified } = await certifiedState(tx, scope, statusBefore);
    const ev = evaluateFinality({ snapshot, history, policy: p, now: now.getTime(), human, certified });

    const statusAfter = STATUS_OF[ev.outcome];
    const versions = { governance: await ensurePolicyVersion(tx, gov), finality: await ensurePolicyVersion(tx, fin) };
    const log = (kind: string, payload: Record<string, unknown>) =>
      appendEvent(tx, { scope, kind, source: 'finality', payload, touchActivity: false, ...(messageId ? { messageId } : {}) });

    if (ev.reopened) await log('scope_reopened', { previous_status: statusBefore, round, basis: ev.basis });
    if (statusAfter !== statusBefore) {
      await tx.query('UPDATE scopes SET status = $2, updated_at = now() WHERE scope_id = $1', [scope, statusAfter]);
    }

    let certificate: StoredCertificate | null = null;
    const certify = p.certify.includes(ev.outcome as RuleOutcome) && !ev.sticky && (statusAfter !== statusBefore || ev.reopened);
    if (certify) {
      if (!deps.signer) throw new PermanentError('signing_key_missing', `scope ${scope} reached ${ev.outcome} but no certificate signer is configured (FINALITY_SIGNING_KEY)`);
      // The certificate says what it was signed with: contradictions still open, goals that cannot be met.
      const open = await listContradictions(tx, scope, { status: 'open' });
      const goals = await listGoals(tx, scope);
      certificate = await issueCertificate(tx, deps.signer, {
        openContradictions: open.map((c) => ({ subject: c.subject, values: [c.sides[0].display, c.sides[1].display], docs: [c.sides[0].docs, c.sides[1].docs] })),
        unreachableGoals: goals.filter((g) => g.state === 'unreachable' && !g.replaced_by).map((g) => g.text),
        scope,
        outcome: ev.outcome as RuleOutcome,
        decidedBy: ev.decided_by,
        goalScore: ev.goal_score,
        lyapunovV: ev.lyapunov_v,
        dimensions: ev.dimensions,
        policyVersions: versions,
        basis: ev.basis,
        round,
        now,
      });
    }
    if (statusAfter !== statusBefore || certificate) {
      await log(ev.outcome === 'RESOLVED' ? 'session_finalized' : 'scope_status_changed', {
        scope_id: scope,
        from: statusBefore,
        to: statusAfter,
        outcome: ev.outcome,
        decided_by: ev.decided_by,
        certificate_id: certificate?.certificateId ?? null,
      });
    }

    let review: FinalityRoundResult['review'] = null;
    if (ev.outcome === 'REVIEW') {
      // The reviewer sees the disagreements themselves, not only their count.
      const open = await listContradictions(tx, scope, { status: 'open', limit: 50 });
      const request = { ...buildReviewRequest(scope, snapshot, ev, p), open_contradictions: open.map(contradictionBrief) };
      const r = await upsertFinalityReview(tx, scope, request);
      review = { ...r, request };
      if (r.created) await log('finality_review_requested', { review_id: r.reviewId, goal_score: request.goal_score, blockers: request.blockers.map((b) => b.type) });
    } else if (SUPERSEDES_REVIEW.has(ev.outcome)) {
      await supersedeFinalityReview(tx, scope, `scope became ${ev.outcome}`);
    }

    const details: StoredDetails = { evaluation: ev, status_before: statusBefore, certificate_id: certificate?.certificateId ?? null, review, policy_versions: versions };
    await tx.query(
      `INSERT INTO finality_decisions (scope_id, round, outcome, decided_by, reasons, details, basis, message_id, created_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
      [scope, round, ev.outcome, ev.decided_by, JSON.stringify(ev.reasons), JSON.stringify(details), JSON.stringify(ev.basis), messageId, now],
    );
    return { scope, round, replayed: false, outcome: ev.outcome, decidedBy: ev.decided_by, statusBefore, statusAfter, evaluation: ev, certificate, review };
  });
}

/**
 * What an evaluation would say now, for reads: the history plus a prospective round,
 * nothing written (the earlier implementation appended a round on every GET /summary).
 */
export async function previewFinality(deps: Pick<FinalityDeps, 'db' | 'policies' | 'now'>, scope: string): Promise<{ evaluation: FinalityEvaluation; status: ScopeStatus; rounds: number }> {
  const fin = deps.policies.finality();
  const p = fin.policy;
  const now = deps.now?.() ?? new Date();
  const q = deps.db;
  const { snapshot, status } = await loadSnapshot(q, scope, p, now);
  const stored = await loadHistory(q, scope, p.convergence.history_depth - 1);
  const history: ConvergencePoint[] = [...stored, pointFor(snapshot, p)];
  const human = await latestHumanDecision(q, scope);
  const { certified } = await certifiedState(q, scope, status);
  return { evaluation: evaluateFinality({ snapshot, history, policy: p, now: now.getTime(), human, certified }), status, rounds: stored.length };
}

export interface LatestDecision {
  outcome: string;
  decided_by: string;
  option: string | null;
  round: number | null;
  at: string;
}

/** The scope's latest finality decision (a round or a human answer), or null. */
export async function latestFinalityDecision(q: Queryable, scope: string): Promise<LatestDecision | null> {
  const { rows } = await q.query<{ outcome: string; decided_by: string; option: string | null; round: number | null; created_at: Date }>(
    'SELECT outcome, decided_by, option, round, created_at FROM finality_decisions WHERE scope_id = $1 ORDER BY id DESC LIMIT 1',
    [scope],
  );
  const r = rows[0];
  return r ? { outcome: r.outcome, decided_by: r.decided_by, option: r.option, round: r.round, at: r.created_at.toISOString() } : null;
}
