// Issuing a finality certificate: the next link of the scope's chain (shared/store/
// certificates.ts reads the head and stores the result), its payload, and the signature.
import { randomUUID } from 'node:crypto';
import type { CertificatePayload } from '../domain/certificate.ts';
import type { Basis } from '../domain/finality.ts';
import type { Dimensions } from '../domain/snapshot.ts';
import type { RuleOutcome } from '../domain/policy.ts';
import { chainHead, insertCertificate, publishSigningKey, type StoredCertificate } from '../store/certificates.ts';
import type { CertificateSigner } from '../adapters/signer.ts';
import type { Tx } from '../store/db.ts';

export interface IssueInput {
  scope: string;
  outcome: RuleOutcome;
  decidedBy: string;
  goalScore: number;
  lyapunovV: number;
  dimensions: Dimensions;
  policyVersions: { governance: string; finality: string };
  basis: Basis;
  round: number | null;
  openContradictions?: CertificatePayload['open_contradictions'];
  unreachableGoals?: string[];
  now?: Date;
}

/**
 * Sign and store the next certificate of the scope's chain. The caller's transaction must
 * hold the scope row lock (the finality evaluation does), which makes seq/prev race-free.
 */
export async function issueCertificate(tx: Tx, signer: CertificateSigner, input: IssueInput): Promise<StoredCertificate> {
  await publishSigningKey(tx, signer);
  const { prev, logSeq } = await chainHead(tx, input.scope);
  const round6 = (x: number) => Math.round(x * 1e6) / 1e6;
  const payload: CertificatePayload = {
    iss: signer.issuer,
    sub: input.scope,
    jti: randomUUID(),
    iat: Math.floor((input.now ?? new Date()).getTime() / 1000),
    outcome: input.outcome,
    decided_by: input.decidedBy,
    seq: (prev?.seq ?? 0) + 1,
    prev: prev?.certificateId ?? null,
    goal_score: round6(input.goalScore),
    lyapunov_v: round6(input.lyapunovV),
    dimensions: {
      claim_confidence: round6(input.dimensions.claim_confidence),
      contradiction_resolution: round6(input.dimensions.contradiction_resolution),
      goal_completion: round6(input.dimensions.goal_completion),
      risk_score_inverse: round6(input.dimensions.risk_score_inverse),
    },
    policy_versions: input.policyVersions,
    basis: input.basis,
    round: input.round,
    log_seq: logSeq,
    open_contradictions: input.openContradictions ?? [],
    unreachable_goals: input.unreachableGoals ?? [],
  };
  const jws = await signer.sign(payload);
  return insertCertificate(tx, signer.kid, jws, payload);
}
