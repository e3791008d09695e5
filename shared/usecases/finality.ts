// One finality evaluation round, in one transaction under the scope row lock:
// snapshot → convergence round (once per message) → evaluate → record the decision →
// status change, signed certificate, review request, context-log events. A redelivered
// evaluation message returns the stored decision and adds nothing. `previewFinality`
// computes the same answer for a read (a summary endpoint) without writing anything.
// The SQL is in shared/store (finality.ts and the stores it names).
import { z } from 'zod';
import { ScopeId } from '../contract/envelope.ts';
import { PermanentError } from '../contract/errors.ts';
import type { ConvergencePoint } from '../domain/convergence.ts';
import { evaluateFinality, pointFor, type FinalityEvaluation, type FinalityOutcome } from '../domain/finality.ts';
import { buildReviewRequest } from '../domain/review.ts';
import type { PolicySource } from '../policy/load.ts';
import type { RuleOutcome } from '../domain/policy.ts';
import type { StoredCertificate } from '../store/certificates.ts';
import type { CertificateSigner } from '../adapters/signer.ts';
import { issueCertificate } from './certificates.ts';
import { appendEvent } from '../store/context-log.ts';
import { listContradictions, listGoals, type ContradictionView } from '../store/contradictions.ts';
import { appendRound, loadHistory } from '../store/convergence.ts';
import { inTransaction, type Db } from '../store/db.ts';
import { certifiedState, lockScopeStatus, recordFinalityDecision, STATUS_OF, storedRound, type FinalityRoundResult, type StoredDetails } from '../store/finality.ts';
import { ensurePolicyVersion } from '../store/policies.ts';
import { latestHumanDecision, supersedeFinalityReview, upsertFinalityReview } from '../store/reviews.ts';
import { setScopeStatus, type ScopeStatus } from '../store/scopes.ts';
import { loadSnapshot } from '../store/snapshot.ts';
import { readState } from '../store/state.ts';

export type { FinalityRoundResult } from '../store/finality.ts';

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

export async function evaluateScopeFinality(deps: FinalityDeps, input: z.input<typeof EvaluateInput>): Promise<FinalityRoundResult> {
  const { scope, messageId } = EvaluateInput.parse(input);
  const gov = deps.policies.governance();
  const fin = deps.policies.finality();
  const p = fin.policy;
  const now = deps.now?.() ?? new Date();
  return inTransaction(deps.db, async (tx) => {
    // One evaluation at a time per scope: rounds, certificates and status stay consistent.
    const statusBefore = await lockScopeStatus(tx, scope);
    if (messageId) {
      const stored = await storedRound(tx, scope, messageId, statusBefore);
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
      await setScopeStatus(tx, scope, statusAfter);
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
    await recordFinalityDecision(tx, { scope, round, evaluation: ev, details, messageId, now });
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
