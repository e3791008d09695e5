import { calculateJwkThumbprint, exportJWK, generateKeyPair } from 'jose';
import { describe, expect, it } from 'vitest';
import { checkChain, type CertificatePayload } from '../../../shared/domain/certificate.ts';
import { loadSigner, verifyCertificate, verifyChain } from '../../../shared/adapters/signer.ts';

const sha = (c: string) => c.repeat(64);
const payload = (seq: number, prev: string | null, jti: string, iat = 1_700_000_000 + seq): CertificatePayload => ({
  iss: 'governed-swarm',
  sub: 'acme',
  jti,
  iat,
  outcome: 'RESOLVED',
  decided_by: 'evaluator',
  seq,
  prev,
  goal_score: 0.95,
  lyapunov_v: 0.001,
  dimensions: { claim_confidence: 1, contradiction_resolution: 1, goal_completion: 0.9, risk_score_inverse: 1 },
  policy_versions: { governance: sha('a'), finality: sha('b') },
  basis: { evidence_seq: 3, graph_revision: 10 },
  round: seq + 2,
  log_seq: 10 * seq,
  open_contradictions: [],
  unreachable_goals: [],
});
const ID = ['11111111-1111-4111-8111-111111111111', '22222222-2222-4222-8222-222222222222', '33333333-3333-4333-8333-333333333333'];

async function key() {
  const { privateKey } = await generateKeyPair('EdDSA', { crv: 'Ed25519', extractable: true });
  const jwk = await exportJWK(privateKey);
  const kid = await calculateJwkThumbprint(jwk);
  return { FINALITY_SIGNING_KEY: JSON.stringify({ ...jwk, kid }), FINALITY_KEY_ID: kid };
}

describe('certificate chain rules', () => {
  it('accepts seq 1..n linked by prev', () => {
    expect(checkChain([payload(1, null, ID[0]!), payload(2, ID[0]!, ID[1]!), payload(3, ID[1]!, ID[2]!)])).toEqual({ ok: true });
  });
  it.each<[string, CertificatePayload[], RegExp]>([
    ['a gap in seq', [payload(1, null, ID[0]!), payload(3, ID[0]!, ID[2]!)], /seq 3, expected 2/],
    ['a wrong prev', [payload(1, null, ID[0]!), payload(2, ID[2]!, ID[1]!)], /does not name/],
    ['a first certificate with a prev', [payload(1, ID[2]!, ID[0]!)], /names a previous/],
    ['another subject', [payload(1, null, ID[0]!), { ...payload(2, ID[0]!, ID[1]!), sub: 'other' }], /subject/],
    ['time going backwards', [payload(1, null, ID[0]!, 2_000_000_000), payload(2, ID[0]!, ID[1]!, 1_000_000_000)], /before its predecessor/],
  ])('rejects %s', (_n, chain, re) => {
    const r = checkChain(chain);
    expect(r.ok).toBe(false);
    expect(!r.ok && r.problem).toMatch(re);
  });
});

describe('signing (jose, EdDSA)', () => {
  it('fails clearly without a configured key, or with a key id that names another key', async () => {
    await expect(loadSigner({ FINALITY_SIGNING_KEY: '', FINALITY_KEY_ID: '' })).rejects.toThrow(/FINALITY_SIGNING_KEY and FINALITY_KEY_ID must be set/);
    const k = await key();
    await expect(loadSigner({ ...k, FINALITY_KEY_ID: 'other' })).rejects.toThrow(/does not name this key/);
    await expect(loadSigner({ ...k, FINALITY_SIGNING_KEY: '{"kty":"RSA"}' })).rejects.toThrow(/not an Ed25519 private JWK/);
  });

  it('signs a compact JWS that verifies against the public JWK alone; tampering fails', async () => {
    const signer = await loadSigner(await key());
    const jws = await signer.sign(payload(1, null, ID[0]!));
    expect(jws.split('.')).toHaveLength(3);
    const header = JSON.parse(Buffer.from(jws.split('.')[0]!, 'base64url').toString());
    expect(header).toEqual({ alg: 'EdDSA', kid: signer.kid, typ: 'finality-certificate+jws' });
    const keys = { keys: [signer.publicJwk] };
    expect((await verifyCertificate(jws, keys)).jti).toBe(ID[0]);
    const [h, p, s] = jws.split('.') as [string, string, string];
    const forged = Buffer.from(JSON.stringify({ ...payload(1, null, ID[0]!), outcome: 'ESCALATED' })).toString('base64url');
    await expect(verifyCertificate(`${h}.${forged}.${s}`, keys)).rejects.toThrow(/signature/);
    const other = await loadSigner(await key());
    await expect(verifyCertificate(jws, { keys: [{ ...other.publicJwk, kid: signer.kid }] })).rejects.toThrow(/signature/);
    await expect(verifyCertificate(`${h}.${p}.${s.slice(0, -4)}AAAA`, keys)).rejects.toThrow(/signature/);
    const second = await signer.sign(payload(2, ID[0]!, ID[1]!));
    await expect(verifyChain([jws, second], keys)).resolves.toHaveLength(2);
    await expect(verifyChain([second, jws], keys)).rejects.toThrow(/chain broken/);
  });
});
