// The HTTP API against real Postgres, NATS JetStream and OpenFGA (functions/api):
// every route's happy path, authentication, authorization recorded in access_log,
// refusal of bad input with nothing stored or published, read-only reads, reviews
// and certificates.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_ENVELOPE_BYTES } from '../../shared/contract/envelope.ts';
import { DocSubmitted, MAX_DOCUMENT_CHARS, ReviewResponded } from '../../shared/contract/messages.ts';
import { scopeSwarmTuple } from '../../shared/adapters/authz.ts';
import { withTransaction } from '../../shared/adapters/db.ts';
import { createAuthorizer } from '../../shared/adapters/authz.ts';
import { DEFAULT_POLICY_PATHS, filePolicySource, loadFinalityPolicy, loadGovernancePolicy } from '../../shared/policy/load.ts';
import { evaluateScopeFinality } from '../../shared/usecases/finality.ts';
import { governProposal } from '../../shared/usecases/governance.ts';
import { upsertEdge, upsertNode } from '../../shared/store/graph.ts';
import { appendEvent } from '../../shared/store/context-log.ts';
import { loadSigner, verifyCertificate } from '../../shared/adapters/signer.ts';
import { issueCertificate } from '../../shared/usecases/certificates.ts';
import { previewFinality } from '../../shared/usecases/finality.ts';
import { answeredBy } from '../support/answers.ts';
import { respondToFinalityReview, upsertFinalityReview } from '../../shared/store/reviews.ts';
import { setScopeMode } from '../../shared/store/scopes.ts';
import { ensureScope } from '../../shared/usecases/scopes.ts';
import { loadSnapshot } from '../../shared/store/snapshot.ts';
import { advanceState } from '../../shared/store/state.ts';
import { buildReviewRequest } from '../../shared/domain/review.ts';
import { loadEnv } from '../../shared/config.ts';
import {
  Certificate,
  CertificateList,
  Convergence,
  DocumentAccepted,
  Jwks,
  Ready,
  RespondAccepted,
  Review,
  ReviewList,
  ScopeInfo,
  Summary,
} from '../../functions/api/schemas.ts';
import { ErrorBody } from '../../functions/api/errors.ts';
import { readOnly } from '../../functions/api/queries.ts';
import { freePort } from './core/private-openfga.ts';
import { databaseFingerprint, startApi, type ApiHarness } from './api-harness.ts';
import { uniq } from '../support/ids.ts';

let h: ApiHarness;
beforeAll(async () => {
  h = await startApi();
});
afterAll(async () => h?.close());

const policies = filePolicySource(DEFAULT_POLICY_PATHS);

/** The messages of the test stream on one subject, oldest first. */
async function published(subject: string): Promise<{ seq: number; data: Record<string, unknown> }[]> {
  const c = await h.js.consumers.get(h.env.NATS_STREAM, { filter_subjects: [subject] });
  const out: { seq: number; data: Record<string, unknown> }[] = [];
  const pending = (await c.info(true)).num_pending;
  if (pending > 0) {
    const it = await c.fetch({ max_messages: pending, expires: 2_000 });
    for await (const m of it) {
      out.push({ seq: m.seq, data: m.json() });
      if (out.length === pending) break;
    }
  }
  await c.delete().catch(() => {});
  return out;
}

async function accessRows(requestId: string | null) {
  const { rows } = await h.db.pool.query('SELECT principal, action, scope_id, object, relation, allowed, reason FROM access_log WHERE request_id = $1', [requestId]);
  return rows;
}

async function errorOf(res: Response) {
  const text = await res.text();
  const body = ErrorBody.safeParse(JSON.parse(text));
  if (!body.success) throw new Error(`not an error body (${res.status}): ${text.slice(0, 300)}`);
  return body.data.error;
}

/** A scope created through the API, linked in OpenFGA. */
async function newScope(mode?: string): Promise<string> {
  const scope = uniq('s-');
  const res = await h.call('PUT', `/v1/scopes/${scope}`, { json: mode ? { mode } : {} });
  expect(res.status).toBe(201);
  return scope;
}

const doc = (over: Record<string, unknown> = {}) => ({ title: 'Q3 strategy memo', text: 'NovaTech plans to hire 20 engineers by Q3.', ...over });

describe('public endpoints', () => {
  it('healthz, readyz (Postgres, NATS and OpenFGA checked), the OpenAPI document and the JWKS need no token', async () => {
    expect(await (await h.call('GET', '/healthz', { token: null })).json()).toEqual({ ok: true });
    const ready = await h.call('GET', '/readyz', { token: null });
    expect(ready.status).toBe(200);
    const r = Ready.parse(await ready.json());
    expect(r.ready).toBe(true);
    expect(Object.keys(r.checks).sort()).toEqual(['nats', 'openfga', 'postgres']);

    const doc = await (await h.call('GET', '/openapi.json', { token: null })).json();
    expect(doc.openapi).toBe('3.1.0');
    expect(doc.components.securitySchemes.bearer).toMatchObject({ type: 'http', scheme: 'bearer' });
    for (const [path, ops] of Object.entries(doc.paths as Record<string, Record<string, { security?: unknown }>>)) {
      for (const op of Object.values(ops)) {
        expect([path, op.security]).toEqual([path, path.startsWith('/v1/') ? [{ bearer: [] }] : undefined]);
      }
    }
    const jwks = await h.call('GET', '/.well-known/jwks.json', { token: null });
    expect(jwks.status).toBe(200);
    expect(Jwks.parse(await jwks.json())).toEqual({ keys: [] });
  });

  it('readyz is 503 and names OpenFGA when it cannot be reached (and nothing else is blamed)', async () => {
    const app = h.appWith({ OPENFGA_API_URL: `http://127.0.0.1:${await freePort()}` });
    const res = await h.call('GET', '/readyz', { token: null, app });
    expect(res.status).toBe(503);
    const r = Ready.parse(await res.json());
    expect(r.checks.openfga).toMatchObject({ ok: false });
    expect([r.checks.postgres?.ok, r.checks.nats?.ok]).toEqual([true, true]);
  });

  it('unknown routes are a JSON 404', async () => {
    const res = await h.call('GET', '/v1/nope');
    expect(res.status).toBe(404);
    expect(await errorOf(res)).toMatchObject({ code: 'not_found', message: 'no route GET /v1/nope' });
  });
});

describe('authentication', () => {
  it('no token → 401 with WWW-Authenticate; unknown or malformed token → 401; nothing recorded or published', async () => {
    const before = await h.streamMessages();
    for (const [headers, re] of [
      [{}, /missing Authorization header/],
      [{ authorization: 'Bearer not-a-configured-token-at-all' }, /unknown bearer token/],
      [{ authorization: `Basic ${h.tokens.api}` }, /not of the form "Bearer <token>"/],
      [{ authorization: `Bearer ${h.tokens.api}x` }, /unknown bearer token/],
    ] as const) {
      const res = await h.call('POST', '/v1/scopes/acme/documents', { token: null, headers, json: doc() });
      expect(res.status).toBe(401);
      expect(res.headers.get('www-authenticate')).toMatch(/^Bearer realm="governed-swarm"/);
      expect((await errorOf(res)).message).toMatch(re);
      expect(await accessRows(res.headers.get('x-request-id'))).toEqual([]);
    }
    expect(await h.streamMessages()).toBe(before);
  });

  it('every /v1 route asks for a token', async () => {
    for (const [method, path] of [
      ['PUT', '/v1/scopes/acme'],
      ['GET', '/v1/scopes/acme'],
      ['GET', '/v1/scopes/acme/convergence'],
      ['GET', '/v1/scopes/acme/reviews'],
      ['GET', '/v1/reviews/r-1'],
      ['POST', '/v1/reviews/r-1/respond'],
      ['GET', '/v1/scopes/acme/certificates'],
      ['GET', '/v1/certificates/3f2a9c4e-6b1d-4c1e-9a57-0d6f3e2b8c11'],
      ['GET', '/v1/scopes/acme/events'],
    ]) {
      expect([method, path, (await h.call(method!, path!, { token: null })).status]).toEqual([method, path, 401]);
    }
  });
});

describe('scopes', () => {
  it('PUT creates a scope with its OpenFGA link (201), again is 200, another mode is 409; the allow is recorded', async () => {
    const scope = uniq('s-');
    const res = await h.call('PUT', `/v1/scopes/${scope}`, { json: { mode: 'MITL' } });
    expect(res.status).toBe(201);
    expect(res.headers.get('location')).toBe(`/v1/scopes/${scope}`);
    expect(ScopeInfo.parse(await res.json())).toMatchObject({ scope, status: 'open', mode: 'MITL', created: true });
    expect(await accessRows(res.headers.get('x-request-id'))).toEqual([
      { principal: 'agent:api', action: 'scope.create', scope_id: scope, object: 'swarm:main', relation: 'ingester', allowed: true, reason: 'allowed' },
    ]);
    // The link: agent:api may now ingest into it.
    const authz = createAuthorizer(h.env, { breaker: uniq('fga-') });
    expect((await authz.check({ user: 'agent:api', relation: 'ingester', object: `scope:${scope}` })).allowed).toBe(true);

    const again = await h.call('PUT', `/v1/scopes/${scope}`);
    expect(again.status).toBe(200);
    expect(await again.json()).toMatchObject({ created: false, mode: 'MITL' });
    const other = await h.call('PUT', `/v1/scopes/${scope}`, { json: { mode: 'YOLO' } });
    expect(other.status).toBe(409);
    expect(await errorOf(other)).toMatchObject({ code: 'scope_conflict' });
  });

  it('a principal without ingester on swarm:main cannot create scopes: 403, recorded, no row', async () => {
    const scope = uniq('s-');
    const res = await h.call('PUT', `/v1/scopes/${scope}`, { token: h.tokens.operator });
    expect(res.status).toBe(403);
    expect((await errorOf(res)).message).toBe('user:operator has no ingester relation on swarm:main (scope.create denied)');
    expect(await accessRows(res.headers.get('x-request-id'))).toEqual([
      { principal: 'user:operator', action: 'scope.create', scope_id: scope, object: 'swarm:main', relation: 'ingester', allowed: false, reason: 'denied' },
    ]);
    expect((await h.db.pool.query('SELECT 1 FROM scopes WHERE scope_id = $1', [scope])).rowCount).toBe(0);
  });

  it('bad scope ids and bodies are 400 naming the field', async () => {
    for (const [path, json, re] of [
      ['/v1/scopes/Not_Valid', {}, /^path\.scope: scope must be 1-64 chars/],
      [`/v1/scopes/${'x'.repeat(65)}`, {}, /^path\.scope: /],
      ['/v1/scopes/ok-scope', { mode: 'FAST' }, /^body\.mode: /],
      ['/v1/scopes/ok-scope', { mode: 'YOLO', color: 'red' }, /^body: Unrecognized key: "color"/],
    ] as const) {
      const res = await h.call('PUT', path, { json });
      expect(res.status).toBe(400);
      const e = await errorOf(res);
      expect(e.code).toBe('invalid_request');
      expect(e.message).toMatch(re);
      expect(e.details?.length).toBeGreaterThan(0);
    }
  });
});

describe('ingest', () => {
  it('publishes doc.submitted on <prefix>.<scope>.doc.submitted; a retry is a duplicate, not a second message', async () => {
    const scope = await newScope();
    const before = await h.streamMessages();
    const res = await h.call('POST', `/v1/scopes/${scope}/documents`, { json: doc({ title: '  Memo  ' }) });
    expect(res.status).toBe(202);
    const body = DocumentAccepted.parse(await res.json());
    expect(body).toMatchObject({ scope, duplicate: false });
    expect(body.doc_id).toMatch(/^d-[A-Za-z0-9_-]{16}$/);
    expect(body.message_id).toMatch(/^api:doc:/);

    const [m] = await published(`${h.env.NATS_SUBJECT_PREFIX}.${scope}.doc.submitted`);
    expect(m!.seq).toBe(body.stream_seq);
    expect(m!.data).toMatchObject({ id: body.message_id, scope, type: 'doc.submitted', source: 'api', attempt: 1 });
    expect(DocSubmitted.parse(m!.data.payload)).toEqual({
      doc_id: body.doc_id,
      title: 'Memo',
      text: doc().text,
      kind: 'document',
      submitted_by: 'agent:api',
    });
    const accessAllowed = await accessRows(res.headers.get('x-request-id'));
    expect(accessAllowed).toEqual([expect.objectContaining({ action: 'document.submit', object: `scope:${scope}`, relation: 'ingester', allowed: true })]);

    const again = DocumentAccepted.parse(await (await h.call('POST', `/v1/scopes/${scope}/documents`, { json: doc({ title: '  Memo  ' }) })).json());
    expect(again).toEqual({ ...body, duplicate: true });
    expect(await h.streamMessages()).toBe(before + 1);
  });

  it('an Idempotency-Key makes the retry with the same body a duplicate, and is refused with another body (422)', async () => {
    const scope = await newScope();
    const key = uniq('key-');
    const a = DocumentAccepted.parse(await (await h.call('POST', `/v1/scopes/${scope}/documents`, { json: doc(), headers: { 'idempotency-key': key } })).json());
    const b = DocumentAccepted.parse(await (await h.call('POST', `/v1/scopes/${scope}/documents`, { json: doc(), headers: { 'Idempotency-Key': key } })).json());
    expect(b).toMatchObject({ message_id: a.message_id, stream_seq: a.stream_seq, duplicate: true });
    const edited = await h.call('POST', `/v1/scopes/${scope}/documents`, { json: doc({ text: 'edited text' }), headers: { 'Idempotency-Key': key } });
    expect(edited.status).toBe(422);
    expect((await errorOf(edited)).code).toBe('idempotency_key_reused');
    // The message is the document's, key or no key.
    const noKey = DocumentAccepted.parse(await (await h.call('POST', `/v1/scopes/${scope}/documents`, { json: doc() })).json());
    expect(noKey).toMatchObject({ message_id: a.message_id, duplicate: true });
    const bad = await h.call('POST', `/v1/scopes/${scope}/documents`, { json: doc(), headers: { 'idempotency-key': 'has space' } });
    expect(bad.status).toBe(400);
    expect((await errorOf(bad)).message).toMatch(/^header\.Idempotency-Key: /);
  });

  it('a resolution document keeps its kind and explicit doc_id', async () => {
    const scope = await newScope();
    const body = DocumentAccepted.parse(
      await (await h.call('POST', `/v1/scopes/${scope}/documents`, { json: doc({ kind: 'resolution', doc_id: 'legal-opinion.v2' }) })).json(),
    );
    expect(body.doc_id).toBe('legal-opinion.v2');
    const [m] = await published(`${h.env.NATS_SUBJECT_PREFIX}.${scope}.doc.submitted`);
    expect(m!.data.payload).toMatchObject({ kind: 'resolution', doc_id: 'legal-opinion.v2' });
  });

  it('a scope the principal has no ingester (nor reader) relation on: 404 as for a missing scope, and recorded (intruder; a scope not linked to the swarm)', async () => {
    const scope = await newScope();
    const intr = await h.call('POST', `/v1/scopes/${scope}/documents`, { token: h.tokens.intruder, json: doc() });
    expect(intr.status).toBe(404);
    expect(await errorOf(intr)).toMatchObject({ code: 'scope_not_found', message: `scope "${scope}" does not exist (create it with PUT /v1/scopes/${scope})` });
    expect(await accessRows(intr.headers.get('x-request-id'))).toEqual([
      { principal: 'agent:intruder', action: 'document.submit', scope_id: scope, object: `scope:${scope}`, relation: 'ingester', allowed: false, reason: 'denied' },
    ]);

    const unlinked = uniq('s-');
    await ensureScope(h.db.pool, null, { scope: unlinked }); // the row, without the OpenFGA link
    const res = await h.call('POST', `/v1/scopes/${unlinked}/documents`, { json: doc() });
    expect(res.status).toBe(404);
    expect(await accessRows(res.headers.get('x-request-id'))).toEqual([expect.objectContaining({ principal: 'agent:api', scope_id: unlinked, allowed: false, reason: 'denied' })]);
    // A scope that does not exist has no link either.
    const ghost = await h.call('POST', `/v1/scopes/${uniq('none-')}/documents`, { json: doc() });
    expect(ghost.status).toBe(404);
    expect(await published(`${h.env.NATS_SUBJECT_PREFIX}.${unlinked}.doc.submitted`)).toEqual([]);
  });

  it('a scope linked in OpenFGA but without a row is 404', async () => {
    const scope = uniq('s-');
    await h.admin.write([scopeSwarmTuple(scope)]);
    const res = await h.call('POST', `/v1/scopes/${scope}/documents`, { json: doc() });
    expect(res.status).toBe(404);
    expect(await errorOf(res)).toMatchObject({ code: 'scope_not_found', message: `scope "${scope}" does not exist (create it with PUT /v1/scopes/${scope})` });
  });

  it('oversized, malformed or invalid documents are 4xx naming the problem, and nothing is stored or published', async () => {
    const scope = await newScope();
    const path = `/v1/scopes/${scope}/documents`;
    const withoutAudit = async () => {
      const f = await databaseFingerprint(h.db);
      delete f.access_log;
      return f;
    };
    const dbBefore = await withoutAudit();
    const before = await h.streamMessages();
    const big = 'x'.repeat(MAX_ENVELOPE_BYTES + 1);
    const chunked = new ReadableStream<Uint8Array>({
      start(ctl) {
        for (let i = 0; i < 40; i++) ctl.enqueue(new TextEncoder().encode('a'.repeat(10_000)));
        ctl.close();
      },
    });
    const cases: [string, Promise<Response>, number, string, RegExp][] = [
      ['Content-Length over the limit', h.call('POST', path, { json: doc({ text: big }) }), 413, 'payload_too_large', /^body: more than 262144 bytes/],
      ['chunked body over the limit', Promise.resolve(h.app.request(path, { method: 'POST', body: chunked, headers: { authorization: `Bearer ${h.tokens.api}`, 'content-type': 'application/json' }, duplex: 'half' } as RequestInit)), 413, 'payload_too_large', /^body: more than/],
      ['text over MAX_DOCUMENT_CHARS', h.call('POST', path, { json: doc({ text: 'y'.repeat(MAX_DOCUMENT_CHARS + 1) }) }), 413, 'document_too_large', new RegExp(`^body\\.text: must be at most ${MAX_DOCUMENT_CHARS} characters`)],
      // 2-byte characters: under the body limit and the character limit, over one message.
      ['envelope over MAX_ENVELOPE_BYTES', h.call('POST', path, { json: doc({ text: 'é'.repeat(Math.floor((MAX_ENVELOPE_BYTES - 10 - Buffer.byteLength(JSON.stringify(doc({ text: '' })))) / 2)) }) }), 413, 'document_too_large', /^body\.text: the message would be \d+ bytes, more than the 262144 allowed/],
      ['malformed JSON', h.call('POST', path, { body: '{"title": "x", "text": ', headers: { 'content-type': 'application/json' } }), 400, 'malformed_json', /^body: not valid JSON/],
      ['not JSON', h.call('POST', path, { body: 'title=x&text=y', headers: { 'content-type': 'text/plain' } }), 415, 'unsupported_media_type', /^body: send Content-Type: application\/json/],
      ['missing field', h.call('POST', path, { json: { title: 'only a title' } }), 400, 'invalid_request', /^body\.text: is required$/],
      ['wrong type', h.call('POST', path, { json: { title: 42, text: 'x' } }), 400, 'invalid_request', /^body\.title: Invalid input: expected string, received number$/],
      ['empty text', h.call('POST', path, { json: doc({ text: '   ' }) }), 400, 'invalid_request', /^body\.text: must not be empty$/],
      ['NUL in text', h.call('POST', path, { json: doc({ text: 'a\u0000b' }) }), 400, 'invalid_request', /^body\.text: must not contain NUL characters$/],
      ['bad doc_id', h.call('POST', path, { json: doc({ doc_id: '../etc/passwd' }) }), 400, 'invalid_request', /^body\.doc_id: 1-120 characters/],
      ['bad kind', h.call('POST', path, { json: doc({ kind: 'memo' }) }), 400, 'invalid_request', /^body\.kind: /],
      ['unknown field', h.call('POST', path, { json: doc({ author: 'me' }) }), 400, 'invalid_request', /^body: Unrecognized key: "author"/],
      ['array body', h.call('POST', path, { json: [doc()] }), 400, 'invalid_request', /^body: Invalid input: expected object, received array/],
      ['no body', h.call('POST', path, {}), 400, 'invalid_request', /^body\.title: is required; body\.text: is required$/],
      ['bad scope id', h.call('POST', '/v1/scopes/UPPER/documents', { json: doc() }), 400, 'invalid_request', /^path\.scope: /],
    ];
    for (const [what, pending, status, code, re] of cases) {
      const res = await pending;
      const e = await errorOf(res);
      expect([what, res.status, e.code]).toEqual([what, status, code]);
      expect([what, e.message]).toEqual([what, expect.stringMatching(re)]);
      expect(e.request_id).toBe(res.headers.get('x-request-id'));
    }
    expect(await h.streamMessages()).toBe(before);
    expect(await withoutAudit()).toEqual(dbBefore);
  });

  it('NATS refusing the publish is a 503 naming it; nothing stored', async () => {
    const scope = await newScope();
    // A prefix no stream captures: JetStream has no responder for the subject.
    const app = h.appWith({ NATS_SUBJECT_PREFIX: uniq('nostream') });
    const before = await h.streamMessages();
    const res = await h.call('POST', `/v1/scopes/${scope}/documents`, { json: doc(), app });
    expect(res.status).toBe(503);
    expect(res.headers.get('retry-after')).toBe('2');
    expect(await errorOf(res)).toMatchObject({ code: 'bus_unavailable', message: expect.stringMatching(/^could not publish doc\.submitted to NATS: .*nothing was stored, retry the request$/) });
    expect(await h.streamMessages()).toBe(before);
    expect((await h.db.pool.query('SELECT count(*)::int AS n FROM context_log WHERE scope_id = $1', [scope])).rows[0].n).toBe(0);
  });

  it('OpenFGA unreachable: 503, recorded as unavailable, never allowed', async () => {
    const scope = await newScope();
    const app = h.appWith({ OPENFGA_API_URL: `http://127.0.0.1:${await freePort()}` });
    const before = await h.streamMessages();
    const res = await h.call('POST', `/v1/scopes/${scope}/documents`, { json: doc(), app });
    expect(res.status).toBe(503);
    expect(await errorOf(res)).toMatchObject({ code: 'authz_unavailable' });
    expect(await accessRows(res.headers.get('x-request-id'))).toEqual([expect.objectContaining({ allowed: false, reason: 'unavailable' })]);
    expect(await h.streamMessages()).toBe(before);
  });
});

describe('reading never changes anything', () => {
  let scope: string;
  let contradiction: { a: string; b: string };
  let certificateId: string;
  let finReviewId: string;

  beforeAll(async () => {
    scope = await newScope();
    const pool = h.db.pool;
    await appendEvent(pool, { scope, kind: 'context_doc', source: 'test', payload: { doc_id: 'd1' } });
    const a = await upsertNode(pool, { scope, kind: 'claim', content: 'NovaTech will hire 20 engineers by Q3', confidence: 0.9, sourceDoc: 'd1', createdBy: 'facts' });
    const b = await upsertNode(pool, { scope, kind: 'claim', content: 'NovaTech has a hiring freeze through Q4', confidence: 0.7, sourceDoc: 'd1', createdBy: 'facts' });
    await upsertNode(pool, { scope, kind: 'goal', content: 'Confirm the hiring plan', createdBy: 'facts' });
    await upsertEdge(pool, { scope, kind: 'contradicts', sourceId: a.id, targetId: b.id, createdBy: 'facts' });
    contradiction = { a: a.id, b: b.id };
    // Two real evaluation rounds, then a finality review and a certificate.
    const signer = await loadSigner(loadEnv());
    for (const m of ['eval-1', 'eval-2']) await evaluateScopeFinality({ db: pool, policies, signer }, { scope, messageId: m });
    const fin = loadFinalityPolicy().policy;
    finReviewId = await withTransaction(pool, async (tx) => {
      const { snapshot } = await loadSnapshot(tx, scope, fin);
      const { evaluation } = await previewFinality({ db: tx, policies }, scope);
      return (await upsertFinalityReview(tx, scope, buildReviewRequest(scope, snapshot, evaluation, fin))).reviewId;
    });
    const cert = await withTransaction(pool, async (tx) => {
      const { evaluation: ev } = await previewFinality({ db: tx, policies }, scope);
      return issueCertificate(tx, signer, {
        scope,
        outcome: 'ESCALATED',
        decidedBy: 'human:test',
        goalScore: ev.goal_score,
        lyapunovV: ev.lyapunov_v,
        dimensions: ev.dimensions,
        policyVersions: { governance: loadGovernancePolicy().version, finality: loadFinalityPolicy().version },
        basis: ev.basis,
        round: 2,
      });
    });
    certificateId = cert.certificateId;
  });

  it('the summary: state, score, V, α, outcome, open contradictions with their claims, pending reviews, certificates', async () => {
    const res = await h.call('GET', `/v1/scopes/${scope}`);
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toBe('no-store');
    const s = Summary.parse(await res.json());
    const { evaluation } = await previewFinality({ db: h.db.pool, policies }, scope);
    const { rows } = await h.db.pool.query('SELECT outcome FROM finality_decisions WHERE scope_id = $1 ORDER BY id DESC LIMIT 1', [scope]);
    expect(s).toMatchObject({
      scope,
      status: 'open',
      state: { node: 'ContextIngested', epoch: 0 },
      finality: { goal_score: evaluation.goal_score, lyapunov_v: evaluation.lyapunov_v, alpha: evaluation.convergence.rate, rounds: 2, outcome: rows[0].outcome, preview: { outcome: evaluation.outcome } },
      open_contradictions_total: 1,
      pending_reviews: [{ review_id: finReviewId, kind: 'finality_review' }],
      certificates: 1,
    });
    expect(s.finality.latest_decision).toMatchObject({ outcome: rows[0].outcome, decided_by: 'evaluator', round: 2 });
    const [c] = s.open_contradictions;
    expect(new Set([c!.a.node_id, c!.b.node_id])).toEqual(new Set([contradiction.a, contradiction.b]));
    expect(new Set([c!.a.content, c!.b.content])).toEqual(new Set(['NovaTech will hire 20 engineers by Q3', 'NovaTech has a hiring freeze through Q4']));
  });

  it('convergence: the stored rounds, their analysis and the current point', async () => {
    const res = await h.call('GET', `/v1/scopes/${scope}/convergence`);
    const body = Convergence.parse(await res.json());
    expect(body.rounds.map((r) => r.round)).toEqual([1, 2]);
    expect(body.analysis).toMatchObject({ rounds: 2, score_history: body.rounds.map((r) => r.goal_score) });
    expect(body.now.goal_score).toBeCloseTo(body.rounds[1]!.goal_score, 9);
    expect((await h.call('GET', `/v1/scopes/${scope}/convergence?depth=1`).then((r) => r.json())).rounds).toHaveLength(1);
    expect((await h.call('GET', `/v1/scopes/${scope}/convergence?depth=0`)).status).toBe(400);
  });

  it('read paths run in READ ONLY transactions: Postgres itself refuses a write there', async () => {
    await expect(readOnly(h.guarded, (q) => q.query(`UPDATE scopes SET status = 'resolved' WHERE scope_id = $1`, [scope]))).rejects.toMatchObject({ code: '25006' });
    expect((await h.db.pool.query('SELECT status FROM scopes WHERE scope_id = $1', [scope])).rows[0].status).toBe('open');
    // And the audit table takes no updates.
    await expect(h.db.pool.query(`UPDATE access_log SET allowed = true`)).rejects.toThrow(/access_log is append-only/);
  });

  it('many reads of every kind leave every table and the stream exactly as they were', async () => {
    const dbBefore = await databaseFingerprint(h.db);
    const stream = (await h.jsm.streams.info(h.env.NATS_STREAM)).state;
    const reads = [
      `/v1/scopes/${scope}`,
      `/v1/scopes/${scope}/convergence`,
      `/v1/scopes/${scope}/reviews`,
      `/v1/scopes/${scope}/reviews?status=all`,
      `/v1/reviews/${finReviewId}`,
      `/v1/scopes/${scope}/certificates`,
      `/v1/certificates/${certificateId}`,
      '/.well-known/jwks.json',
      '/readyz',
    ];
    for (let i = 0; i < 3; i++) {
      for (const path of reads) expect([path, (await h.call('GET', path, { token: i === 1 ? h.tokens.operator : h.tokens.api })).status]).toEqual([path, 200]);
    }
    expect(await databaseFingerprint(h.db)).toEqual(dbBefore);
    const after = (await h.jsm.streams.info(h.env.NATS_STREAM)).state;
    expect({ messages: after.messages, last_seq: after.last_seq }).toEqual({ messages: stream.messages, last_seq: stream.last_seq });
  });

  it('certificates: the chain, one by id, and it verifies with the public JWKS alone', async () => {
    const list = CertificateList.parse(await (await h.call('GET', `/v1/scopes/${scope}/certificates`)).json());
    expect(list.certificates.map((c) => [c.seq, c.outcome])).toEqual([[1, 'ESCALATED']]);
    const one = Certificate.parse(await (await h.call('GET', `/v1/certificates/${certificateId}`)).json());
    expect(one).toEqual(list.certificates[0]);
    const jwks = Jwks.parse(await (await h.call('GET', '/.well-known/jwks.json', { token: null })).json());
    const payload = await verifyCertificate(one.jws, jwks as never);
    expect(payload).toMatchObject({ sub: scope, jti: certificateId, outcome: 'ESCALATED', seq: 1 });
    expect((await h.call('GET', '/v1/certificates/not-a-uuid')).status).toBe(400);
    const missing = await h.call('GET', '/v1/certificates/3f2a9c4e-6b1d-4c1e-9a57-0d6f3e2b8c11');
    expect(missing.status).toBe(404);
    expect(await errorOf(missing)).toMatchObject({ code: 'certificate_not_found' });
  });

  it('reads by a principal without reader are 404 (as for a missing id) and recorded; a reviewer may read (reviewer implies reader)', async () => {
    for (const path of [`/v1/scopes/${scope}`, `/v1/scopes/${scope}/convergence`, `/v1/scopes/${scope}/reviews`, `/v1/reviews/${finReviewId}`, `/v1/certificates/${certificateId}`]) {
      const res = await h.call('GET', path, { token: h.tokens.intruder });
      expect([path, res.status]).toEqual([path, 404]);
      expect(await accessRows(res.headers.get('x-request-id'))).toEqual([expect.objectContaining({ principal: 'agent:intruder', relation: 'reader', scope_id: scope, allowed: false })]);
    }
    expect((await h.call('GET', `/v1/scopes/${scope}`, { token: h.tokens.operator })).status).toBe(200);
  });
});

describe('reviews', () => {
  let scope: string;
  let govReviewId: string;
  let finReviewId: string;

  beforeAll(async () => {
    scope = await newScope();
    const pool = h.db.pool;
    // A governance review: a proposal in MITL mode waits for a human.
    await advanceState(pool, { scope, from: 'ContextIngested', to: 'FactsExtracted', expectedEpoch: 0, source: 'test' });
    await advanceState(pool, { scope, from: 'FactsExtracted', to: 'DriftChecked', expectedEpoch: 1, source: 'test' });
    await setScopeMode(pool, scope, 'MITL');
    const gov = await governProposal(
      { db: pool, policies, authz: createAuthorizer(h.env, { breaker: uniq('fga-') }) },
      { proposal_id: uniq('p-'), scope, proposer: 'planner', action: 'advance_state', from: 'DriftChecked', to: 'ContextIngested', expected_epoch: 2, drift: { level: 'low', types: [] } },
    );
    expect(gov.reviewId).toBeTruthy();
    govReviewId = gov.reviewId!;
    await upsertNode(pool, { scope, kind: 'claim', content: 'Revenue grew 40% in 2024', confidence: 0.8, sourceDoc: 'd1', createdBy: 'facts' });
    const fin = loadFinalityPolicy().policy;
    finReviewId = await withTransaction(pool, async (tx) => {
      const { snapshot } = await loadSnapshot(tx, scope, fin);
      const { evaluation } = await previewFinality({ db: tx, policies }, scope);
      return (await upsertFinalityReview(tx, scope, buildReviewRequest(scope, snapshot, evaluation, fin))).reviewId;
    });
  });

  const respond = (id: string, json: unknown, token = h.tokens.operator) => h.call('POST', `/v1/reviews/${id}/respond`, { token, json });

  it('the queue lists pending reviews with the options each takes; one review by id', async () => {
    const list = ReviewList.parse(await (await h.call('GET', `/v1/scopes/${scope}/reviews`, { token: h.tokens.operator })).json());
    expect(list.reviews.map((r) => [r.review_id, r.kind, r.status, r.options])).toEqual([
      [govReviewId, 'governance_review', 'pending', ['approve', 'reject']],
      [finReviewId, 'finality_review', 'pending', ['approve_finality', 'provide_resolution', 'escalate', 'defer']],
    ]);
    const one = Review.parse(await (await h.call('GET', `/v1/reviews/${finReviewId}`, { token: h.tokens.operator })).json());
    expect(one.request).toMatchObject({ type: 'finality_review', scope_id: scope });
    expect((await h.call('GET', `/v1/scopes/${scope}/reviews?status=approved`)).status).toBe(200);
    const bad = await h.call('GET', `/v1/scopes/${scope}/reviews?status=open`);
    expect(bad.status).toBe(400);
    expect((await errorOf(bad)).message).toMatch(/^query\.status: /);
    const missing = await h.call('GET', '/v1/reviews/no-such-review');
    expect(missing.status).toBe(404);
    expect(await errorOf(missing)).toMatchObject({ code: 'review_not_found', message: 'review "no-such-review" does not exist' });
  });

  it('an option that does not fit the review kind, or fields that do not fit the option, are 400; nothing published', async () => {
    const before = await h.streamMessages();
    for (const [id, json, re] of [
      [govReviewId, { option: 'approve_finality' }, /^body\.option: approve_finality does not apply to a governance_review; use one of approve, reject$/],
      [finReviewId, { option: 'approve' }, /^body\.option: approve does not apply to a finality_review; use one of approve_finality, provide_resolution, escalate, defer$/],
      [finReviewId, { option: 'provide_resolution' }, /^body\.text: is required with option provide_resolution/],
      [finReviewId, { option: 'escalate', days: 3 }, /^body\.days: only with option defer/],
      [finReviewId, { option: 'defer', text: 'x' }, /^body\.text: only with option provide_resolution/],
      [finReviewId, { option: 'defer', days: 0 }, /^body\.days: /],
      [finReviewId, { option: 'maybe' }, /^body\.option: /],
    ] as const) {
      const res = await respond(id, json);
      expect([json, res.status]).toEqual([json, 400]);
      expect((await errorOf(res)).message).toMatch(re);
    }
    expect(await h.streamMessages()).toBe(before);
  });

  it('only a reviewer may respond: agent:api (a reader) gets 403, agent:intruder 404 (it cannot see the review); both recorded', async () => {
    for (const [t, status] of [[h.tokens.api, 403], [h.tokens.intruder, 404]] as const) {
      const res = await respond(govReviewId, { option: 'approve' }, t);
      expect(res.status).toBe(status);
      expect(await accessRows(res.headers.get('x-request-id'))).toEqual([
        expect.objectContaining({ action: 'review.respond', relation: 'reviewer', object: `scope:${scope}`, allowed: false, reason: 'denied' }),
      ]);
    }
  });

  it('approve on a governance review publishes review.responded with the responder; the same response again is a duplicate', async () => {
    const res = await respond(govReviewId, { option: 'approve', note: 'checked the drift report' });
    expect(res.status).toBe(202);
    const body = RespondAccepted.parse(await res.json());
    expect(body).toMatchObject({ review_id: govReviewId, kind: 'governance_review', option: 'approve', duplicate: false, resolution: null });
    const msgs = await published(`${h.env.NATS_SUBJECT_PREFIX}.${scope}.review.responded`);
    expect(msgs.map((m) => m.seq)).toEqual([body.stream_seq]);
    expect(ReviewResponded.parse(msgs[0]!.data.payload)).toEqual({
      review_id: govReviewId,
      kind: 'governance_review',
      option: 'approve',
      note: 'checked the drift report',
      responder: 'user:operator',
      access_id: expect.any(Number),
    });
    // The message names the access record of this answer, which names the review: the executor checks both.
    expect(await accessRows(res.headers.get('x-request-id'))).toEqual([expect.objectContaining({ principal: 'user:operator', action: 'review.respond', allowed: true })]);
    const { rows: [access] } = await h.db.pool.query('SELECT id, target FROM access_log WHERE request_id = $1', [res.headers.get('x-request-id')]);
    expect(access).toEqual({ id: String(ReviewResponded.parse(msgs[0]!.data.payload).access_id), target: govReviewId });
    const again = RespondAccepted.parse(await (await respond(govReviewId, { option: 'approve', note: 'checked the drift report' })).json());
    expect(again).toMatchObject({ message_id: body.message_id, duplicate: true });
  });

  it('defer takes its days from finality.yaml when not given', async () => {
    // A review of its own: the one of this block gets another answer below, and a review is answered once.
    const other = await newScope();
    const fin = loadFinalityPolicy().policy;
    const reviewId = await withTransaction(h.db.pool, async (tx) => {
      const { snapshot } = await loadSnapshot(tx, other, fin);
      const { evaluation } = await previewFinality({ db: tx, policies }, other);
      return (await upsertFinalityReview(tx, other, buildReviewRequest(other, snapshot, evaluation, fin))).reviewId;
    });
    const res = await respond(reviewId, { option: 'defer' });
    expect(res.status).toBe(202);
    const msgs = await published(`${h.env.NATS_SUBJECT_PREFIX}.${other}.review.responded`);
    expect(msgs.at(-1)!.data.payload).toMatchObject({ review_id: reviewId, option: 'defer', days: fin.review.defer_days });
  });

  it('provide_resolution submits the text as a resolution document, then the response', async () => {
    const res = await respond(finReviewId, { option: 'provide_resolution', text: 'The hiring freeze was lifted on 1 July; the plan stands.', note: 'from legal' });
    expect(res.status).toBe(202);
    const body = RespondAccepted.parse(await res.json());
    expect(body.resolution).toMatchObject({ scope, duplicate: false });
    const [docMsg] = await published(`${h.env.NATS_SUBJECT_PREFIX}.${scope}.doc.submitted`);
    expect(docMsg!.seq).toBe(body.resolution!.stream_seq);
    expect(docMsg!.seq).toBeLessThan(body.stream_seq);
    expect(DocSubmitted.parse(docMsg!.data.payload)).toMatchObject({
      kind: 'resolution',
      text: 'The hiring freeze was lifted on 1 July; the plan stands.',
      title: `Resolution for review ${finReviewId}`,
      submitted_by: 'user:operator',
    });
  });

  it('once a step has recorded a response, responding again is 409', async () => {
    // What the finality step does on review.responded.
    await respondToFinalityReview(h.db.pool, { reviewId: finReviewId, option: 'defer', days: 7, ...(await answeredBy(h.db.pool, scope, finReviewId, 'user:operator')) });
    const res = await respond(finReviewId, { option: 'approve_finality' });
    expect(res.status).toBe(409);
    expect(await errorOf(res)).toMatchObject({ code: 'review_already_answered', message: `review "${finReviewId}" is already deferred (by user:operator); a review is answered once` });
    const got = Review.parse(await (await h.call('GET', `/v1/reviews/${finReviewId}`)).json());
    expect(got).toMatchObject({ status: 'deferred', options: [] });
  });
});
