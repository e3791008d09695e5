// Finality certificates: compact JWS (EdDSA / Ed25519, jose) over the payload built in
// shared/domain/certificate.ts, chained per scope (each names its predecessor). The
// signing key comes from configuration (FINALITY_SIGNING_KEY, FINALITY_KEY_ID, written by
// services:up); its public half is stored in signing_keys and served as a JWKS document,
// so anyone can verify a certificate offline with nothing but that document. Issuing one
// (payload and signature) is shared/usecases/certificates.ts; the signer (loadSigner) and
// verification still live here.
import { calculateJwkThumbprint, CompactSign, compactVerify, createLocalJWKSet, importJWK, type JWK, type JSONWebKeySet } from 'jose';
import { z } from 'zod';
import type { Env } from '../config.ts';
import { PermanentError } from '../contract/errors.ts';
import { CertificatePayloadSchema, checkChain, type CertificatePayload } from '../domain/certificate.ts';
import type { RuleOutcome } from '../policy/schema.ts';
import { num, type Tx, type Queryable } from './db.ts';

export const CERTIFICATE_TYP = 'finality-certificate+jws';

export interface CertificateSigner {
  kid: string;
  issuer: string;
  publicJwk: JWK;
  sign(payload: CertificatePayload): Promise<string>;
}

const PrivateJwk = z.looseObject({ kty: z.literal('OKP'), crv: z.literal('Ed25519'), x: z.string().min(1), d: z.string().min(1) });

/** The signer from FINALITY_SIGNING_KEY / FINALITY_KEY_ID; a clear error when they are missing or wrong. */
/** The issuer this swarm signs as (iss), and the one verification expects unless told otherwise. */
export const DEFAULT_ISSUER = 'governed-swarm';

export async function loadSigner(env: Pick<Env, 'FINALITY_SIGNING_KEY' | 'FINALITY_KEY_ID'>, issuer = DEFAULT_ISSUER): Promise<CertificateSigner> {
  if (!env.FINALITY_SIGNING_KEY || !env.FINALITY_KEY_ID) {
    throw new PermanentError('signing_key_missing', 'FINALITY_SIGNING_KEY and FINALITY_KEY_ID must be set to issue finality certificates (npm run services:up writes them)');
  }
  let jwk: z.infer<typeof PrivateJwk>;
  try {
    jwk = PrivateJwk.parse(JSON.parse(env.FINALITY_SIGNING_KEY));
  } catch (err) {
    throw new PermanentError('signing_key_invalid', `FINALITY_SIGNING_KEY is not an Ed25519 private JWK: ${(err as Error).message}`);
  }
  const publicJwk: JWK = { kty: 'OKP', crv: 'Ed25519', x: jwk.x };
  // A key id that names another key would make every certificate unverifiable.
  const thumbprint = await calculateJwkThumbprint(publicJwk);
  if ((typeof jwk.kid === 'string' && jwk.kid !== env.FINALITY_KEY_ID) || (jwk.kid === undefined && env.FINALITY_KEY_ID !== thumbprint)) {
    throw new PermanentError('signing_key_invalid', `FINALITY_KEY_ID ${env.FINALITY_KEY_ID} does not name this key (kid ${String(jwk.kid ?? thumbprint)})`);
  }
  const key = await importJWK({ kty: 'OKP', crv: 'Ed25519', x: jwk.x, d: jwk.d }, 'EdDSA');
  const kid = env.FINALITY_KEY_ID;
  return {
    kid,
    issuer,
    publicJwk: { ...publicJwk, kid, alg: 'EdDSA', use: 'sig' },
    async sign(payload) {
      const body = new TextEncoder().encode(JSON.stringify(CertificatePayloadSchema.parse(payload)));
      return new CompactSign(body).setProtectedHeader({ alg: 'EdDSA', kid, typ: CERTIFICATE_TYP }).sign(key);
    },
  };
}

/** Store the signer's public key (once); refuse a different key under the same id. */
export async function publishSigningKey(q: Queryable, signer: CertificateSigner): Promise<void> {
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

export class CertificateError extends PermanentError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('invalid_certificate', message, options);
  }
}

/**
 * Verify a certificate with nothing but a JWKS document: signature (EdDSA only), key id,
 * type, and payload shape. Returns the payload; throws CertificateError otherwise.
 */
/**
 * Verify a certificate: signature (EdDSA, a key of the set), type, schema, issuer
 * (default: this swarm's) and, when given, the subject (the scope it must be about).
 */
export async function verifyCertificate(jws: string, keySet: JSONWebKeySet, expect: { issuer?: string; subject?: string } = {}): Promise<CertificatePayload> {
  let verified;
  try {
    verified = await compactVerify(jws, createLocalJWKSet(keySet), { algorithms: ['EdDSA'] });
  } catch (err) {
    throw new CertificateError(`signature check failed: ${(err as Error).message}`, { cause: err });
  }
  if (verified.protectedHeader.typ !== CERTIFICATE_TYP) throw new CertificateError(`unexpected typ ${String(verified.protectedHeader.typ)}`);
  let body: unknown;
  try {
    body = JSON.parse(new TextDecoder().decode(verified.payload));
  } catch (err) {
    throw new CertificateError('payload is not JSON', { cause: err });
  }
  const parsed = CertificatePayloadSchema.safeParse(body);
  if (!parsed.success) throw new CertificateError(`payload does not match the certificate schema: ${parsed.error.message}`);
  const issuer = expect.issuer ?? DEFAULT_ISSUER;
  if (parsed.data.iss !== issuer) throw new CertificateError(`issued by ${parsed.data.iss}, not ${issuer}`);
  if (expect.subject !== undefined && parsed.data.sub !== expect.subject) throw new CertificateError(`about ${parsed.data.sub}, not ${expect.subject}`);
  return parsed.data;
}

/** Verify every certificate of a chain and that they link up (seq 1..n, prev, subject, time). */
export async function verifyChain(jwsList: readonly string[], keySet: JSONWebKeySet, expect: { issuer?: string; subject?: string } = {}): Promise<CertificatePayload[]> {
  const payloads: CertificatePayload[] = [];
  for (const j of jwsList) payloads.push(await verifyCertificate(j, keySet, expect));
  const check = checkChain(payloads);
  if (!check.ok) throw new CertificateError(`chain broken at certificate ${check.index + 1}: ${check.problem}`);
  return payloads;
}

export const certificateCount = async (q: Queryable, scope: string): Promise<number> =>
  num((await q.query<{ n: string }>('SELECT count(*) AS n FROM certificates WHERE scope_id = $1', [scope])).rows[0]!.n);
