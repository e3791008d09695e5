// Finality records (SQL only): the scope's status under its row lock, the decision of a
// round stored under its evaluation message (a redelivery reads it back), the certified
// state, the latest decision. The round itself (snapshot, convergence, evaluation,
// certificate, review) is shared/usecases/finality.ts.
import type { CertifiedState, FinalityEvaluation, FinalityOutcome } from '../domain/finality.ts';
import type { FinalityReviewRequest } from '../domain/review.ts';
import { latestCertificate, type StoredCertificate } from './certificates.ts';
import { ScopeNotFoundError, type Tx, type Queryable } from './db.ts';
import type { ScopeStatus } from './scopes.ts';

export const STATUS_OF: Record<FinalityOutcome, ScopeStatus> = {
  RESOLVED: 'resolved',
  ESCALATED: 'escalated',
  BLOCKED: 'blocked',
  EXPIRED: 'expired',
  REVIEW: 'open',
  ACTIVE: 'open',
};

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

export interface StoredDetails {
  evaluation: FinalityEvaluation;
  status_before: ScopeStatus;
  certificate_id: string | null;
  review: FinalityRoundResult['review'];
  policy_versions: { governance: string; finality: string };
}

/** The scope's status, locked until the transaction ends (one evaluation at a time per scope). */
export async function lockScopeStatus(tx: Tx, scope: string): Promise<ScopeStatus> {
  const locked = await tx.query<{ status: ScopeStatus }>('SELECT status FROM scopes WHERE scope_id = $1 FOR UPDATE', [scope]);
  if (!locked.rows[0]) throw new ScopeNotFoundError(scope);
  return locked.rows[0].status;
}

/** The latest certificate, and what it certifies if the scope is still in its outcome's status. */
export async function certifiedState(q: Queryable, scope: string, status: ScopeStatus): Promise<{ latest: StoredCertificate | null; certified: CertifiedState | null }> {
  const latest = await latestCertificate(q, scope);
  const certified =
    latest && STATUS_OF[latest.outcome] === status
      ? { certificate_id: latest.certificateId, seq: latest.seq, outcome: latest.outcome, basis: latest.payload.basis }
      : null;
  return { latest, certified };
}

/** The round already decided for this evaluation message (replayed), or null. */
export async function storedRound(tx: Tx, scope: string, messageId: string, status: ScopeStatus): Promise<FinalityRoundResult | null> {
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

/** Store a round's decision (under its evaluation message, when there is one). */
export async function recordFinalityDecision(
  tx: Tx,
  d: { scope: string; round: number; evaluation: FinalityEvaluation; details: StoredDetails; messageId: string | null; now: Date },
): Promise<void> {
  const ev = d.evaluation;
  await tx.query(
    `INSERT INTO finality_decisions (scope_id, round, outcome, decided_by, reasons, details, basis, message_id, created_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
    [d.scope, d.round, ev.outcome, ev.decided_by, JSON.stringify(ev.reasons), JSON.stringify(d.details), JSON.stringify(ev.basis), d.messageId, d.now],
  );
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
