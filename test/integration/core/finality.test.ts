// Finality against the real Postgres: snapshots from a real graph, rounds appended only by
// evaluations, human decisions, re-opening, and the signed certificate chain verified with
// nothing but the published JWKS.
import { calculateJwkThumbprint, compactVerify, createLocalJWKSet, exportJWK, generateKeyPair } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadEnv } from '../../../shared/config.ts';
import { DEFAULT_POLICY_PATHS, filePolicySource } from '../../../shared/policy/load.ts';
import { jwks, listCertificates, revokeSigningKey } from '../../../shared/store/certificates.ts';
import { loadSigner, verifyCertificate, verifyChain, type CertificateSigner } from '../../../shared/adapters/signer.ts';
import { appendEvent, readSince } from '../../../shared/store/context-log.ts';
import { countRounds } from '../../../shared/store/convergence.ts';
import { evaluateScopeFinality, previewFinality, type FinalityDeps } from '../../../shared/usecases/finality.ts';
import { resolveEdge, upsertEdge, upsertNode } from '../../../shared/store/graph.ts';
import { answeredBy } from '../../support/answers.ts';
import { listPendingReviews, respondToFinalityReview } from '../../../shared/store/reviews.ts';
import { getScope } from '../../../shared/store/scopes.ts';
import { ensureScope } from '../../../shared/usecases/scopes.ts';
import { loadSnapshot } from '../../../shared/store/snapshot.ts';
import { freshDatabase, type TestDatabase } from '../../support/db.ts';

const env = loadEnv();
let db: TestDatabase;
let signer: CertificateSigner;
let deps: FinalityDeps;
const policies = filePolicySource(DEFAULT_POLICY_PATHS);
let msg = 0;
const evaluate = (scope: string, d: FinalityDeps = deps) => evaluateScopeFinality(d, { scope, messageId: `eval-${++msg}` });

beforeAll(async () => {
  db = await freshDatabase();
  signer = await loadSigner(env);
  deps = { db: db.pool, policies, signer };
});
afterAll(async () => db?.drop());

/** The HITL seed of reference §10.5, in a real graph. */
async function seedHitl(scope: string) {
  await ensureScope(db.pool, null, { scope });
  const c = [
    'Budget is approved for Q4.',
    'Launch date is set to November 15.',
    'We will hire 15 engineers by year-end.',
    'SOC 2 audit is scheduled for November.',
    'Nexus APAC rollout is delayed by 2 weeks.',
  ];
  const claims: string[] = [];
  for (const content of c) claims.push((await upsertNode(db.pool, { scope, kind: 'claim', content, confidence: 0.9, createdBy: 'seed-hitl-scenario' })).id);
  const goals: string[] = [];
  for (const [content, status] of [
    ['Nexus APAC rollout', 'resolved'],
    ['Pass SOC 2', 'resolved'],
    ['Hire 15+ engineers by Dec 31', 'resolved'],
    ['Close two enterprise logos', 'resolved'],
    ['50 Nexus deployments by end of 2025', 'active'],
  ] as const) {
    goals.push((await upsertNode(db.pool, { scope, kind: 'goal', content, status, createdBy: 'seed-hitl-scenario' })).id);
  }
  await upsertNode(db.pool, { scope, kind: 'risk', content: 'Talent market may delay hiring', severity: 'high', createdBy: 'seed-hitl-scenario' });
  await upsertNode(db.pool, { scope, kind: 'risk', content: 'APAC delay may shift revenue to Q1', severity: 'high', createdBy: 'seed-hitl-scenario' });
  await upsertEdge(db.pool, { scope, kind: 'contradicts', sourceId: claims[0]!, targetId: claims[2]!, createdBy: 'seed-hitl-scenario' });
  const open = await upsertEdge(db.pool, { scope, kind: 'contradicts', sourceId: claims[1]!, targetId: claims[4]!, createdBy: 'seed-hitl-scenario' });
  await upsertEdge(db.pool, { scope, kind: 'resolves', sourceId: claims[0]!, targetId: claims[2]!, createdBy: 'seed-hitl-scenario' });
  return { claims, goals, openEdge: open.id };
}

/** A scope that satisfies every RESOLVED condition: sourced confident claims, goals done, nothing open. */
async function seedResolvable(scope: string) {
  await ensureScope(db.pool, null, { scope });
  await appendEvent(db.pool, { scope, kind: 'context_doc', source: 'api', payload: { title: 'doc 1' } });
  for (const content of ['Revenue is 2.1M', 'Margin is 12%', 'SOC 2 audit passed']) {
    await upsertNode(db.pool, { scope, kind: 'claim', content, confidence: 0.95, sourceDoc: 'doc-1', createdBy: 'facts' });
  }
  await upsertNode(db.pool, { scope, kind: 'goal', content: 'Confirm revenue', status: 'resolved', createdBy: 'facts' });
}

describe('snapshot and review from a real graph', () => {
  it('the HITL seed gives score 0.80, V 0.085, a review with blockers naming nodes', async () => {
    const seed = await seedHitl('hitl');
    const { snapshot } = await loadSnapshot(db.pool, 'hitl', policies.finality().policy);
    expect(snapshot).toMatchObject({
      claims_active_count: 5,
      claims_active_min_confidence: 0.9,
      contradictions_total_count: 2,
      contradictions_unresolved_count: 1,
      goals_total_count: 5,
      goals_resolved_count: 4,
      risks_critical_active_count: 0,
      scope_risk_score: 0,
    });
    const r = await evaluate('hitl');
    expect(r.outcome).toBe('REVIEW');
    expect(r.evaluation.goal_score).toBeCloseTo(0.8, 9);
    expect(r.evaluation.lyapunov_v).toBeCloseTo(0.085, 9);
    expect(r.evaluation.convergence.bottleneck).toBe('contradiction_resolution');
    const req = r.review!.request;
    expect(req.blockers.map((b) => b.type)).toEqual(['unresolved_contradiction', 'missing_goal_resolution', 'low_evidence_coverage']);
    expect(req.blockers[0]).toMatchObject({ node_ids: [seed.claims[1], seed.claims[4]].sort(), edge_ids: [seed.openEdge] });
    expect(req.blockers[1]!.node_ids).toEqual([seed.goals[4]]);
    expect(req.dimension_breakdown.map((d) => d.status)).toEqual(['ok', 'blocking', 'partial', 'ok']);
    expect((await listPendingReviews(db.pool, 'hitl')).map((x) => x.reviewId)).toEqual([r.review!.reviewId]);
    const [logged] = await readSince(db.pool, 'hitl', 0, { kinds: ['finality_review_requested'] });
    expect(logged!.payload).toMatchObject({ review_id: r.review!.reviewId });
    // A second round refreshes the pending review instead of opening another.
    const r2 = await evaluate('hitl');
    expect(r2.review).toMatchObject({ reviewId: r.review!.reviewId, created: false });
  });

  it('reads never append a round; a redelivered evaluation adds nothing', async () => {
    await seedHitl('rounds');
    expect(await countRounds(db.pool, 'rounds')).toBe(0);
    const p = await previewFinality(deps, 'rounds');
    expect(p.evaluation.outcome).toBe('REVIEW');
    await previewFinality(deps, 'rounds');
    expect(await countRounds(db.pool, 'rounds')).toBe(0);
    const first = await evaluateScopeFinality(deps, { scope: 'rounds', messageId: 'fin-msg-1' });
    const again = await evaluateScopeFinality(deps, { scope: 'rounds', messageId: 'fin-msg-1' });
    expect(again).toMatchObject({ replayed: true, round: first.round, outcome: first.outcome });
    expect(await countRounds(db.pool, 'rounds')).toBe(1);
    const { rows } = await db.pool.query(`SELECT epoch FROM convergence_history WHERE scope_id = 'rounds'`);
    expect(Number(rows[0].epoch)).toBe(0); // the scope's real epoch, recorded
  });
});

describe('certificates', () => {
  it('RESOLVED after settling; the certificate verifies with the published JWKS alone; tampering is rejected', async () => {
    await seedResolvable('cert');
    const outcomes: string[] = [];
    for (let i = 0; i < 3; i++) outcomes.push((await evaluate('cert')).outcome);
    expect(outcomes).toEqual(['ACTIVE', 'ACTIVE', 'RESOLVED']); // round 3: β rounds, quiet since round 2
    const certs = await listCertificates(db.pool, 'cert');
    expect(certs).toHaveLength(1);
    expect((await getScope(db.pool, 'cert'))!.status).toBe('resolved');

    // Offline verification: only the JWKS document (as JSON) and the JWS.
    const published = JSON.parse(JSON.stringify(await jwks(db.pool)));
    expect(published.keys).toEqual([{ kty: 'OKP', crv: 'Ed25519', x: signer.publicJwk.x, kid: signer.kid, alg: 'EdDSA', use: 'sig' }]);
    const { payload, protectedHeader } = await compactVerify(certs[0]!.jws, createLocalJWKSet(published));
    expect(protectedHeader).toMatchObject({ alg: 'EdDSA', kid: signer.kid });
    const body = JSON.parse(new TextDecoder().decode(payload));
    expect(body).toMatchObject({ sub: 'cert', outcome: 'RESOLVED', seq: 1, prev: null, decided_by: 'evaluator', goal_score: 1, lyapunov_v: 0 });
    expect(body.policy_versions).toEqual({ governance: policies.governance().version, finality: policies.finality().version });
    expect(body.dimensions).toEqual({ claim_confidence: 1, contradiction_resolution: 1, goal_completion: 1, risk_score_inverse: 1 });

    const [h, p, s] = certs[0]!.jws.split('.') as [string, string, string];
    const forged = Buffer.from(JSON.stringify({ ...body, outcome: 'ESCALATED' })).toString('base64url');
    await expect(verifyCertificate(`${h}.${forged}.${s}`, published)).rejects.toThrow(/signature/);
    const flipped = s.slice(0, 10) + (s[10] === 'A' ? 'B' : 'A') + s.slice(11);
    await expect(verifyCertificate(`${h}.${p}.${flipped}`, published)).rejects.toThrow(/signature/);
    await expect(verifyCertificate(certs[0]!.jws, { keys: [] })).rejects.toThrow(/signature/);

    // Sticky while nothing new arrives: no second certificate.
    const r4 = await evaluate('cert');
    expect(r4).toMatchObject({ outcome: 'RESOLVED', certificate: null, evaluation: { sticky: true } });
    expect(await listCertificates(db.pool, 'cert')).toHaveLength(1);
  });

  it('new evidence re-opens a resolved scope; a later resolution issues the next certificate in the chain', async () => {
    await appendEvent(db.pool, { scope: 'cert', kind: 'context_doc', source: 'api', payload: { title: 'doc 2' } });
    const a = await upsertNode(db.pool, { scope: 'cert', kind: 'claim', content: 'Hiring 20 engineers', confidence: 0.95, sourceDoc: 'doc-2', createdBy: 'facts' });
    const b = await upsertNode(db.pool, { scope: 'cert', kind: 'claim', content: 'Hiring 15 engineers', confidence: 0.95, sourceDoc: 'doc-2', createdBy: 'facts' });
    const e = await upsertEdge(db.pool, { scope: 'cert', kind: 'contradicts', sourceId: a.id, targetId: b.id, createdBy: 'facts' });
    const reopened = await evaluate('cert');
    expect(reopened.evaluation.reopened).toBe(true);
    expect(reopened.outcome).not.toBe('RESOLVED');
    expect((await getScope(db.pool, 'cert'))!.status).toBe('open');
    expect((await readSince(db.pool, 'cert', 0, { kinds: ['scope_reopened'] })).length).toBe(1);

    await resolveEdge(db.pool, 'cert', e.id, 'human:alice', '15 external hires, 20 including internal moves');
    const outcomes: string[] = [];
    for (let i = 0; i < 3 && outcomes.at(-1) !== 'RESOLVED'; i++) outcomes.push((await evaluate('cert')).outcome);
    expect(outcomes.at(-1)).toBe('RESOLVED');
    const certs = await listCertificates(db.pool, 'cert');
    expect(certs.map((c) => [c.seq, c.previousId])).toEqual([
      [1, null],
      [2, certs[0]!.certificateId],
    ]);
    const chain = await verifyChain(certs.map((c) => c.jws), await jwks(db.pool));
    expect(chain[1]!.basis.evidence_seq).toBeGreaterThan(chain[0]!.basis.evidence_seq);
    await expect(verifyChain([certs[1]!.jws], await jwks(db.pool))).rejects.toThrow(/chain broken/);
  });

  it('approve_finality resolves with a certificate, and is not sticky once new evidence arrives', async () => {
    const seed = await seedHitl('human');
    const r = await evaluate('human');
    expect(r.outcome).toBe('REVIEW');
    const { decision } = await respondToFinalityReview(db.pool, { reviewId: r.review!.reviewId, option: 'approve_finality', ...(await answeredBy(db.pool, r.scope, r.review!.reviewId, 'alice')) });
    expect(decision.basis).toEqual(r.evaluation.basis);
    const approved = await evaluate('human');
    expect(approved).toMatchObject({ outcome: 'RESOLVED', decidedBy: 'human:alice' });
    expect(approved.certificate!.payload).toMatchObject({ decided_by: 'human:alice', seq: 1 });
    await expect(respondToFinalityReview(db.pool, { reviewId: r.review!.reviewId, option: 'escalate', ...(await answeredBy(db.pool, r.scope, r.review!.reviewId, 'bob')) })).rejects.toThrow(/already responded/);

    await appendEvent(db.pool, { scope: 'human', kind: 'resolution', source: 'api', payload: { text: 'new facts' } });
    await upsertNode(db.pool, { scope: 'human', kind: 'claim', content: 'Launch slips to December', confidence: 0.9, createdBy: 'facts' });
    const after = await evaluate('human');
    expect(after.evaluation.reopened).toBe(true);
    expect(after.outcome).toBe('REVIEW');
    expect(after.review!.created).toBe(true);
    expect(seed.claims).toHaveLength(5);
  });

  it('a human may approve with a contradiction open: the review shows it, the certificate says so', async () => {
    const seed = await seedHitl('honest');
    // The open contradiction as the facts step records it: both values, who states them.
    const [a, b] = [seed.claims[1]!, seed.claims[4]!].sort();
    await upsertEdge(db.pool, {
      scope: 'honest', kind: 'contradicts', sourceId: a!, targetId: b!, createdBy: 'facts',
      metadata: { subject: 'launch date', metric: 'date', unit: 'date', period: null, found_in: 'd2', sides: [{ node_id: a, value: { kind: 'date', value: 20768, high: 20788, label: '2026-11' }, display: '2026-11' }, { node_id: b, value: { kind: 'date', value: 20788, high: 20818, label: '2026-12' }, display: '2026-12' }] },
    });
    const r = await evaluate('honest');
    expect(r.outcome).toBe('REVIEW');
    const [pending] = (await listPendingReviews(db.pool, 'honest')).filter((x) => x.kind === 'finality_review');
    expect(pending!.request).toMatchObject({ open_contradictions: [{ subject: 'launch date', sides: [{ value: '2026-11' }, { value: '2026-12' }] }] });
    await respondToFinalityReview(db.pool, { reviewId: r.review!.reviewId, option: 'approve_finality', ...(await answeredBy(db.pool, r.scope, r.review!.reviewId, 'alice')) });
    const approved = await evaluate('honest');
    expect(approved).toMatchObject({ outcome: 'RESOLVED', decidedBy: 'human:alice' });
    // Signed into the certificate: anyone verifying it sees what it was approved with.
    const payload = await verifyCertificate(approved.certificate!.jws, await jwks(db.pool));
    expect(payload.open_contradictions).toEqual([{ subject: 'launch date', values: ['2026-11', '2026-12'], docs: [[], []] }]);
  });

  it('verification checks issuer and subject; a revoked key leaves the JWKS, so what it signed no longer verifies, and it signs nothing more', async () => {
    const { privateKey } = await generateKeyPair('EdDSA', { crv: 'Ed25519', extractable: true });
    const jwk = await exportJWK(privateKey);
    const kid = await calculateJwkThumbprint(jwk);
    const other = await loadSigner({ FINALITY_SIGNING_KEY: JSON.stringify({ ...jwk, kid, alg: 'EdDSA', use: 'sig' }), FINALITY_KEY_ID: kid });
    await seedResolvable('revoked');
    for (let i = 0; i < 3; i++) await evaluate('revoked', { ...deps, signer: other });
    const [cert] = await listCertificates(db.pool, 'revoked');
    const before = await jwks(db.pool);
    expect(before.keys.map((k) => k.kid)).toContain(kid);
    expect(await verifyCertificate(cert!.jws, before, { subject: 'revoked' })).toMatchObject({ iss: 'governed-swarm', sub: 'revoked' });
    // A genuine certificate presented as another scope's, or from another issuer, is refused.
    await expect(verifyCertificate(cert!.jws, before, { subject: 'cert' })).rejects.toThrow(/about revoked, not cert/);
    await expect(verifyCertificate(cert!.jws, before, { issuer: 'another-swarm' })).rejects.toThrow(/issued by governed-swarm, not another-swarm/);

    expect(await revokeSigningKey(db.pool, kid, 'key leaked')).toBe(true);
    expect(await revokeSigningKey(db.pool, kid, 'again')).toBe(false);
    const after = await jwks(db.pool);
    expect(after.keys.map((k) => k.kid)).not.toContain(kid);
    expect(after.keys.map((k) => k.kid)).toContain(signer.kid);
    await expect(verifyCertificate(cert!.jws, after)).rejects.toThrow(/signature/);
    await seedResolvable('after-revoke');
    await evaluate('after-revoke', { ...deps, signer: other });
    await evaluate('after-revoke', { ...deps, signer: other });
    await expect(evaluate('after-revoke', { ...deps, signer: other })).rejects.toThrow(/was revoked/);
  });

  it('refuses to certify without a signing key, clearly', async () => {
    await seedResolvable('nokey');
    const noSigner = { ...deps, signer: null };
    await evaluate('nokey', noSigner);
    await evaluate('nokey', noSigner);
    await expect(evaluate('nokey', noSigner)).rejects.toThrow(/no certificate signer is configured/);
    expect(await listCertificates(db.pool, 'nokey')).toEqual([]);
    expect((await getScope(db.pool, 'nokey'))!.status).toBe('open'); // rolled back with the failed round
  });
});

describe('BLOCKED and EXPIRED from stored inputs', () => {
  it('BLOCKED after 5 idle rounds, 5 quiet minutes and an open contradiction', async () => {
    await ensureScope(db.pool, null, { scope: 'blocked' });
    const a = await upsertNode(db.pool, { scope: 'blocked', kind: 'claim', content: 'ARR 50M', confidence: 0.9, createdBy: 'facts' });
    const b = await upsertNode(db.pool, { scope: 'blocked', kind: 'claim', content: 'ARR 38M', confidence: 0.9, createdBy: 'facts' });
    await upsertEdge(db.pool, { scope: 'blocked', kind: 'contradicts', sourceId: a.id, targetId: b.id, createdBy: 'facts' });
    const later = { ...deps, now: () => new Date(Date.now() + 10 * 60_000) };
    const outcomes: string[] = [];
    for (let i = 0; i < 6; i++) outcomes.push((await evaluate('blocked', later)).outcome);
    expect(outcomes.slice(0, 5)).not.toContain('BLOCKED'); // idle rounds: 0, 1, 2, 3, 4
    expect(outcomes[5]).toBe('BLOCKED');
    expect((await getScope(db.pool, 'blocked'))!.status).toBe('blocked');
    expect(await listCertificates(db.pool, 'blocked')).toEqual([]); // BLOCKED is not certified by default
  });

  it('EXPIRED after 30 days without activity, certified', async () => {
    await ensureScope(db.pool, null, { scope: 'expired' });
    await appendEvent(db.pool, { scope: 'expired', kind: 'context_doc', source: 'api', payload: {} });
    const r = await evaluate('expired', { ...deps, now: () => new Date(Date.now() + 31 * 86_400_000) });
    expect(r.outcome).toBe('EXPIRED');
    expect(r.certificate!.payload).toMatchObject({ outcome: 'EXPIRED', seq: 1 });
    expect((await evaluate('expired')).outcome).toBe('EXPIRED'); // sticky until new evidence
  });
});
