// Trust defects of the HTTP API (issue 10), against real Postgres, NATS and OpenFGA:
//   - an Idempotency-Key reused with another body is 422, not a duplicate with a
//     doc_id that is never stored;
//   - another text under an existing doc_id is 409; the same text is a duplicate;
//   - a second, different answer to a review is 409 at once, not 202 and a dead letter;
//   - the event-stream cap holds under concurrent connections;
//   - a stranger gets the same 404 for an existing review or scope as for a missing one;
//   - the request id in the access log is the server's, never the client's.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAuthorizer } from '../../shared/adapters/authz.ts';
import { DEFAULT_POLICY_PATHS, filePolicySource } from '../../shared/policy/load.ts';
import { governProposal } from '../../shared/usecases/governance.ts';
import { setScopeMode } from '../../shared/store/scopes.ts';
import { advanceState } from '../../shared/store/state.ts';
import { DocumentAccepted, RespondAccepted } from '../../functions/api/schemas.ts';
import { ErrorBody } from '../../functions/api/errors.ts';
import { SseReader, startApi, type ApiHarness } from './api-harness.ts';
import { uniq } from '../support/ids.ts';

let h: ApiHarness;
beforeAll(async () => {
  h = await startApi();
});
afterAll(async () => h?.close());

async function errorOf(res: Response) {
  return ErrorBody.parse(await res.json()).error;
}

async function newScope(): Promise<string> {
  const scope = uniq('s-');
  expect((await h.call('PUT', `/v1/scopes/${scope}`, { json: {} })).status).toBe(201);
  return scope;
}

/** Messages published on one subject of the test stream. */
async function count(subject: string): Promise<number> {
  const c = await h.js.consumers.get(h.env.NATS_STREAM, { filter_subjects: [subject] });
  const n = (await c.info(true)).num_pending;
  await c.delete().catch(() => {});
  return n;
}

const post = (scope: string, json: unknown, headers: Record<string, string> = {}, token?: string) =>
  h.call('POST', `/v1/scopes/${scope}/documents`, { json, headers, ...(token ? { token } : {}) });

describe('Idempotency-Key', () => {
  it('reused with a different body is 422 idempotency_key_reused; with the same body a duplicate with the original doc_id', async () => {
    const scope = await newScope();
    const subject = `${h.env.NATS_SUBJECT_PREFIX}.${scope}.doc.submitted`;
    const key = uniq('key-');
    const first = DocumentAccepted.parse(await (await post(scope, { title: 'Memo', text: 'We will hire 20 engineers in Q4.' }, { 'Idempotency-Key': key })).json());
    expect(first.duplicate).toBe(false);

    const other = await post(scope, { title: 'Memo', text: 'We will hire 25 engineers in Q4.' }, { 'Idempotency-Key': key });
    expect(other.status).toBe(422);
    const e = await errorOf(other);
    expect(e.code).toBe('idempotency_key_reused');
    expect(e.message).toContain(`doc_id "${first.doc_id}"`);

    const retry = DocumentAccepted.parse(await (await post(scope, { title: 'Memo', text: 'We will hire 20 engineers in Q4.' }, { 'Idempotency-Key': key })).json());
    expect(retry).toEqual({ ...first, duplicate: true });
    // The key is the principal's: another principal may use the same string.
    const op = await post(scope, { title: 'Memo', text: 'We will hire 25 engineers in Q4.' }, { 'Idempotency-Key': key }, h.tokens.operator);
    expect(op.status).not.toBe(422);
    expect(await count(subject)).toBe(1); // the operator may not ingest (403), nothing else was published
  });
});

describe('doc_id', () => {
  it('a new text under an existing doc_id is 409 doc_id_conflict; the identical text again is a duplicate', async () => {
    const scope = await newScope();
    const subject = `${h.env.NATS_SUBJECT_PREFIX}.${scope}.doc.submitted`;
    const first = DocumentAccepted.parse(await (await post(scope, { doc_id: 'memo-1', title: 'Memo', text: 'Revenue was $4.0M in Q2.' })).json());
    const changed = await post(scope, { doc_id: 'memo-1', title: 'Memo', text: 'Revenue was $4.5M in Q2.' });
    expect(changed.status).toBe(409);
    expect(await errorOf(changed)).toMatchObject({ code: 'doc_id_conflict', message: expect.stringMatching(/^body\.doc_id: "memo-1" was already submitted/) });
    const same = DocumentAccepted.parse(await (await post(scope, { doc_id: 'memo-1', title: 'Memo', text: 'Revenue was $4.0M in Q2.' })).json());
    expect(same).toMatchObject({ doc_id: 'memo-1', message_id: first.message_id, duplicate: true });
    // Under another Idempotency-Key, the same document is still the same message.
    const keyed = DocumentAccepted.parse(await (await post(scope, { doc_id: 'memo-1', title: 'Memo', text: 'Revenue was $4.0M in Q2.' }, { 'Idempotency-Key': uniq('k-') })).json());
    expect(keyed).toMatchObject({ message_id: first.message_id, duplicate: true });
    expect(await count(subject)).toBe(1);
  });

  it('of concurrent submissions of different texts under one doc_id exactly one is accepted', async () => {
    const scope = await newScope();
    const res = await Promise.all(Array.from({ length: 8 }, (_, i) => post(scope, { doc_id: 'race', title: 'Memo', text: `Headcount is ${100 + i}.` })));
    expect(res.map((r) => r.status).sort()).toEqual([202, 409, 409, 409, 409, 409, 409, 409]);
    expect(await count(`${h.env.NATS_SUBJECT_PREFIX}.${scope}.doc.submitted`)).toBe(1);
  });
});

describe('reviews', () => {
  const policies = filePolicySource(DEFAULT_POLICY_PATHS);
  /** A scope in MITL mode with a pending governance review. */
  async function pendingReview(): Promise<{ scope: string; reviewId: string }> {
    const scope = await newScope();
    const pool = h.db.pool;
    await advanceState(pool, { scope, from: 'ContextIngested', to: 'FactsExtracted', expectedEpoch: 0, source: 'test' });
    await advanceState(pool, { scope, from: 'FactsExtracted', to: 'DriftChecked', expectedEpoch: 1, source: 'test' });
    await setScopeMode(pool, scope, 'MITL');
    const gov = await governProposal(
      { db: pool, policies, authz: createAuthorizer(h.env, { breaker: uniq('fga-') }) },
      { proposal_id: uniq('p-'), scope, proposer: 'planner', action: 'advance_state', from: 'DriftChecked', to: 'ContextIngested', expected_epoch: 2, drift: { level: 'low', types: [] } },
    );
    return { scope, reviewId: gov.reviewId! };
  }
  const respond = (id: string, json: unknown, token = h.tokens.operator) => h.call('POST', `/v1/reviews/${id}/respond`, { token, json });

  it('a second, different answer is 409 review_already_answered before any step has run; the same answer again is a duplicate', async () => {
    const { scope, reviewId } = await pendingReview();
    const subject = `${h.env.NATS_SUBJECT_PREFIX}.${scope}.review.responded`;
    const first = RespondAccepted.parse(await (await respond(reviewId, { option: 'approve' })).json());
    const second = await respond(reviewId, { option: 'reject', note: 'changed my mind' });
    expect(second.status).toBe(409);
    expect(await errorOf(second)).toMatchObject({ code: 'review_already_answered', message: `review "${reviewId}" already has an answer (by user:operator); a review is answered once` });
    const again = RespondAccepted.parse(await (await respond(reviewId, { option: 'approve' })).json());
    expect(again).toMatchObject({ message_id: first.message_id, duplicate: true });
    expect(await count(subject)).toBe(1);
  });

  it('of concurrent different answers exactly one is accepted', async () => {
    const { scope, reviewId } = await pendingReview();
    const res = await Promise.all([
      ...Array.from({ length: 4 }, (_, i) => respond(reviewId, { option: 'approve', note: `a${i}` })),
      ...Array.from({ length: 4 }, (_, i) => respond(reviewId, { option: 'reject', note: `r${i}` })),
    ]);
    expect(res.map((r) => r.status).sort()).toEqual([202, 409, 409, 409, 409, 409, 409, 409]);
    expect(await count(`${h.env.NATS_SUBJECT_PREFIX}.${scope}.review.responded`)).toBe(1);
  });

  it('a stranger gets the same 404 for an existing review as for a missing one (the denial is still recorded); a reader who may not answer gets 403', async () => {
    const { scope, reviewId } = await pendingReview();
    const strip = (e: { request_id?: string }) => ({ ...e, request_id: undefined });
    for (const [method, suffix, json] of [['GET', '', undefined], ['POST', '/respond', { option: 'approve' }]] as const) {
      const hidden = await h.call(method, `/v1/reviews/${reviewId}${suffix}`, { token: h.tokens.intruder, ...(json ? { json } : {}) });
      const missing = await h.call(method, `/v1/reviews/${reviewId}x${suffix}`, { token: h.tokens.intruder, ...(json ? { json } : {}) });
      expect([hidden.status, missing.status]).toEqual([404, 404]);
      const [a, b] = [await errorOf(hidden), await errorOf(missing)];
      expect(strip(a)).toEqual({ ...strip(b), message: b.message.replace(`${reviewId}x`, reviewId) });
      const { rows } = await h.db.pool.query('SELECT principal, allowed FROM access_log WHERE request_id = $1', [hidden.headers.get('x-request-id')]);
      expect(rows).toEqual([{ principal: 'agent:intruder', allowed: false }]);
    }
    // agent:api reads the scope (ingester): for it, 403 says nothing new.
    expect((await respond(reviewId, { option: 'approve' }, h.tokens.api)).status).toBe(403);
    expect(scope).toBeTruthy();
  });
});

describe('scope probing', () => {
  it('a stranger gets the same 404 for an existing scope as for a missing one, on every scope route', async () => {
    const scope = await newScope();
    const ghost = uniq('s-');
    for (const [method, path, json] of [
      ['GET', '', undefined],
      ['GET', '/convergence', undefined],
      ['GET', '/reviews', undefined],
      ['GET', '/certificates', undefined],
      ['POST', '/documents', { title: 'x', text: 'y' }],
    ] as const) {
      const seen = await h.call(method, `/v1/scopes/${scope}${path}`, { token: h.tokens.intruder, ...(json ? { json } : {}) });
      const none = await h.call(method, `/v1/scopes/${ghost}${path}`, { token: h.tokens.intruder, ...(json ? { json } : {}) });
      expect([path, seen.status, none.status]).toEqual([path, 404, 404]);
      const [a, b] = [await errorOf(seen), await errorOf(none)];
      expect(a.code).toBe('scope_not_found');
      expect(a.message).toBe(b.message.replaceAll(ghost, scope));
    }
  });
});

describe('event streams', () => {
  it('concurrent connections never exceed API_SSE_MAX_STREAMS', async () => {
    const scope = await newScope();
    const app = h.appWith({ API_SSE_MAX_STREAMS: 3 });
    const res = await Promise.all(
      Array.from({ length: 24 }, () => app.request(`/v1/scopes/${scope}/events`, { headers: { authorization: `Bearer ${h.tokens.operator}` } })),
    );
    const open = res.filter((r) => r.status === 200);
    const refused = res.filter((r) => r.status === 503);
    try {
      expect([open.length, refused.length]).toEqual([3, 21]);
      for (const r of refused) expect((await errorOf(r)).code).toBe('too_many_streams');
    } finally {
      for (const r of open) await new SseReader(r).cancel();
    }
  });
});

describe('request ids', () => {
  it("the id in the access log and the answer is the server's; a client's X-Request-Id is not used", async () => {
    const scope = await newScope();
    const forged = `forged-${uniq('')}`;
    const res = await post(scope, { title: 'Memo', text: 'We will hire 20 engineers in Q4.' }, { 'X-Request-Id': forged });
    expect(res.status).toBe(202);
    const id = res.headers.get('x-request-id');
    expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    const { rows } = await h.db.pool.query<{ request_id: string }>('SELECT request_id FROM access_log WHERE scope_id = $1 AND action = $2', [scope, 'document.submit']);
    expect(rows).toEqual([{ request_id: id }]);
    expect((await h.db.pool.query('SELECT 1 FROM access_log WHERE request_id = $1', [forged])).rows).toEqual([]);
    const bad = await h.call('GET', `/v1/scopes/${uniq('s-')}`, { token: h.tokens.intruder, headers: { 'X-Request-Id': forged } });
    expect((await errorOf(bad)).request_id).toBe(bad.headers.get('x-request-id'));
    expect(bad.headers.get('x-request-id')).not.toBe(forged);
  });
});
