// Finality certificates as stored: the chain per scope (each names its predecessor),
// the published public keys (signing_keys, served as a JWKS document) and their
// revocation. SQL only: signing and verification are shared/adapters/signer.ts,
// issuing (payload, signature, chain) is shared/usecases/certificates.ts.
import type { JWK, JSONWebKeySet } from 'jose';
import { PermanentError } from '../contract/errors.ts';
import type { CertificatePayload } from '../domain/certificate.ts';
import type { RuleOutcome } from '../domain/policy.ts';
import { num, type Tx, type Queryable } from './db.ts';

/** A signer's public half, as the store keeps it (shared/adapters/signer.ts makes signers). */
export interface SigningKey {
  kid: string;
  publicJwk: JWK;
}

/** Store the signer's public key (once); refuse a different key under the same id. */
export async function publishSigningKey(q: Queryable, signer: SigningKey): Promise<void> {
  const jwk = { kty: signer.publicJwk.kty, crv: signer.publicJwk.crv, x: signer.publicJwk.x };
  await q.query('INSERT INTO signing_keys (key_id, public_jwk) VALUES ($1, $2) ON CONFLICT (key_id) DO NOTHING', [signer.kid, JSON.stringify(jwk)]);
  const { rows } = await q.query<{ public_jwk: JWK; revoked_at: Date | null }>('SELECT public_jwk, revoked_at FROM signing_keys WHERE key_id = $1', [signer.kid]);
  const stored = rows[0];
  if (!stored || stored.public_jwk.x !== jwk.x) throw new PermanentError('signing_key_conflict', `key id ${signer.kid} is stored with a different public key`);
  if (stored.revoked_at) throw new PermanentError('signing_key_revoked', `key ${signer.kid} was revoked at ${stored.revoked_at.toISOString()}; configure a new FINALITY_SIGNING_KEY`);
}

/** Revoke a key: it leaves the JWKS (what it signed no longer verifies) and signs nothing more. True if it was published and not yet revoked. */
export async function revokeSigningKey(q: Queryable, kid: string, reason: string): Promise<boolean> {
  const { rowCount } = await q.query('UPDATE signing_keys SET revoked_at = now(), revoked_reason = $2 WHERE key_id = $1 AND revoked_at IS NULL', [kid, reason.slice(0, 500)]);
  return rowCount === 1;
}

/** JWKS of every key that ever signed and is not revoked (retired keys stay, so old certificates still verify). */
export async function jwks(q: Queryable): Promise<JSONWebKeySet> {
  const { rows } = await q.query<{ key_id: string; public_jwk: JWK }>('SELECT key_id, public_jwk FROM signing_keys WHERE revoked_at IS NULL ORDER BY created_at, key_id');
  return { keys: rows.map((r) => ({ ...r.public_jwk, kid: r.key_id, alg: 'EdDSA', use: 'sig' })) };
}

export interface StoredCertificate {
  certificateId: string;
  scope: string;
  seq: number;
  previousId: string | null;
  outcome: RuleOutcome;
  keyId: string;
  jws: string;
  payload: CertificatePayload;
  createdAt: Date;
}

type Row = {
  certificate_id: string;
  scope_id: string;
  seq: number;
  previous_id: string | null;
  outcome: RuleOutcome;
  key_id: string;
  jws: string;
  payload: CertificatePayload;
  created_at: Date;
};
const toCert = (r: Row): StoredCertificate => ({
  certificateId: r.certificate_id,
  scope: r.scope_id,
  seq: r.seq,
  previousId: r.previous_id,
  outcome: r.outcome,
  keyId: r.key_id,
  jws: r.jws,
  payload: r.payload,
  createdAt: r.created_at,
});

export async function latestCertificate(q: Queryable, scope: string): Promise<StoredCertificate | null> {
  const { rows } = await q.query<Row>('SELECT * FROM certificates WHERE scope_id = $1 ORDER BY seq DESC LIMIT 1', [scope]);
  return rows[0] ? toCert(rows[0]) : null;
}

export async function getCertificate(q: Queryable, id: string): Promise<StoredCertificate | null> {
  const { rows } = await q.query<Row>('SELECT * FROM certificates WHERE certificate_id = $1', [id]);
  return rows[0] ? toCert(rows[0]) : null;
}

export async function listCertificates(q: Queryable, scope: string): Promise<StoredCertificate[]> {
  const { rows } = await q.query<Row>('SELECT * FROM certificates WHERE scope_id = $1 ORDER BY seq', [scope]);
  return rows.map(toCert);
}

/**
 * What the next certificate of the scope's chain links to: its predecessor and the
 * context-log head. The caller's transaction must hold the scope row lock (the finality
 * evaluation does), which makes seq/prev race-free.
 */
export async function chainHead(tx: Tx, scope: string): Promise<{ prev: StoredCertificate | null; logSeq: number }> {
  const prev = await latestCertificate(tx, scope);
  const head = await tx.query<{ last_seq: string }>('SELECT last_seq FROM scopes WHERE scope_id = $1', [scope]);
  return { prev, logSeq: num(head.rows[0]?.last_seq) };
}

/** Store a signed certificate (signing is shared/usecases/certificates.ts). */
export async function insertCertificate(tx: Tx, keyId: string, jws: string, payload: CertificatePayload): Promise<StoredCertificate> {
  const { rows } = await tx.query<Row>(
    `INSERT INTO certificates (certificate_id, scope_id, seq, previous_id, outcome, key_id, jws, payload)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING *`,
    [payload.jti, payload.sub, payload.seq, payload.prev, payload.outcome, keyId, jws, JSON.stringify(payload)],
  );
  return toCert(rows[0]!);
}

export const certificateCount = async (q: Queryable, scope: string): Promise<number> =>
  num((await q.query<{ n: string }>('SELECT count(*) AS n FROM certificates WHERE scope_id = $1', [scope])).rows[0]!.n);
