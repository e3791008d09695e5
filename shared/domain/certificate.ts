// Finality certificate payload and chain rules. Signing and verification (jose,
// Ed25519) live in shared/store/certificates.ts; what a certificate says and how
// certificates link up is decided here.
import { z } from 'zod';
import { FINALITY_RULE_OUTCOMES } from './policy.ts';

const unit = z.number().min(0).max(1);
const Sha256 = z.string().regex(/^[0-9a-f]{64}$/);

export const CertificatePayloadSchema = z
  .object({
    /** Issuer: the swarm deployment. */
    iss: z.string().min(1),
    /** Subject: the scope. */
    sub: z.string().min(1),
    /** Certificate id. */
    jti: z.uuid(),
    /** Issued at, seconds since the epoch. */
    iat: z.number().int().positive(),
    outcome: z.enum(FINALITY_RULE_OUTCOMES),
    decided_by: z.string().min(1),
    /** Position in the scope's chain, 1-based. */
    seq: z.number().int().min(1),
    /** The previous certificate of the scope (null for the first). */
    prev: z.uuid().nullable(),
    goal_score: unit,
    lyapunov_v: z.number().min(0),
    dimensions: z
      .object({
        claim_confidence: unit,
        contradiction_resolution: unit,
        goal_completion: unit,
        risk_score_inverse: unit,
      })
      .strict(),
    policy_versions: z.object({ governance: Sha256, finality: Sha256 }).strict(),
    /** The evidence covered: new evidence beyond this re-opens the scope. */
    basis: z.object({ evidence_seq: z.number().int().min(0), graph_revision: z.number().int().min(0) }).strict(),
    /** Convergence round that produced the outcome. */
    round: z.number().int().min(1).nullable(),
    /** Head of the scope's context log when signed: WAL retention may drop entries up to here. */
    log_seq: z.number().int().min(0),
    /**
     * Contradictions still open when the outcome was decided (a human may approve with
     * some open; automatic RESOLVED requires none): what the certificate was signed with.
     */
    open_contradictions: z
      .array(z.object({ subject: z.string().max(300), values: z.array(z.string().max(100)).length(2), docs: z.array(z.array(z.string().max(200)).max(100)).length(2) }).strict())
      .max(200)
      .default([]),
    /** Goals declared unreachable and not replaced by a new target. */
    unreachable_goals: z.array(z.string().max(1000)).max(200).default([]),
  })
  .strict();

export type CertificatePayload = z.infer<typeof CertificatePayloadSchema>;

export type ChainCheck = { ok: true } | { ok: false; index: number; problem: string };

/**
 * A scope's certificates, in order, must form one chain: same subject, seq 1..n without
 * gaps, each `prev` naming the one before, time never going backwards.
 */
export function checkChain(chain: readonly CertificatePayload[]): ChainCheck {
  for (let i = 0; i < chain.length; i++) {
    const c = chain[i]!;
    const before = i > 0 ? chain[i - 1]! : null;
    if (c.seq !== i + 1) return { ok: false, index: i, problem: `seq ${c.seq}, expected ${i + 1}` };
    if (before === null) {
      if (c.prev !== null) return { ok: false, index: i, problem: 'first certificate names a previous one' };
      continue;
    }
    if (c.sub !== before.sub) return { ok: false, index: i, problem: `subject ${c.sub} differs from ${before.sub}` };
    if (c.prev !== before.jti) return { ok: false, index: i, problem: `prev ${String(c.prev)} does not name ${before.jti}` };
    if (c.iat < before.iat) return { ok: false, index: i, problem: 'issued before its predecessor' };
  }
  return { ok: true };
}
