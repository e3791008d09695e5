// The certificate signer and verifier: compact JWS (EdDSA / Ed25519, jose) over the
// payload built in shared/domain/certificate.ts. The signing key comes from
// configuration (FINALITY_SIGNING_KEY, FINALITY_KEY_ID, written by services:up); its
// public half is published in signing_keys (shared/store/certificates.ts) and served as
// a JWKS document, so anyone can verify a certificate offline with nothing but that.
import { calculateJwkThumbprint, CompactSign, compactVerify, createLocalJWKSet, importJWK, type JWK, type JSONWebKeySet } from 'jose';
import { z } from 'zod';
import type { Env } from '../config.ts';
import { PermanentError } from '../contract/errors.ts';
import { CertificatePayloadSchema, checkChain, type CertificatePayload } from '../domain/certificate.ts';

export const CERTIFICATE_TYP = 'finality-certificate+jws';

export interface CertificateSigner {
  kid: string;
  issuer: string;
  publicJwk: JWK;
  sign(payload: CertificatePayload): Promise<string>;
}

const PrivateJwk = z.looseObject({ kty: z.literal('OKP'), crv: z.literal('Ed25519'), x: z.string().min(1), d: z.string().min(1) });

/** The issuer this swarm signs as (iss), and the one verification expects unless told otherwise. */
export const DEFAULT_ISSUER = 'governed-swarm';

/** The signer from FINALITY_SIGNING_KEY / FINALITY_KEY_ID; a clear error when they are missing or wrong. */
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

export class CertificateError extends PermanentError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('invalid_certificate', message, options);
  }
}

/**
 * Verify a certificate with nothing but a JWKS document: signature (EdDSA, a key of the
 * set), type, schema, issuer (default: this swarm's) and, when given, the subject (the
 * scope it must be about). Returns the payload; throws CertificateError otherwise.
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
