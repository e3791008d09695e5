// Issue 13, item 5, through the API with the whole swarm running on the real services
// (the bridge, every step under its own NATS identity, Postgres, OpenFGA, MinIO):
// a paused scope accepts a document but its cycle holds; resume finishes the cycle; a
// closed scope refuses documents and answers (409 scope_closed) and keeps its history
// and certificates; only an operator may do any of it; pause and resume are idempotent.
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSwarm, type SwarmRuntime } from '../../infra/swarm/runtime.ts';
import { createDeps } from '../../shared/runtime/deps.ts';
import { waitFor } from '../faults/support/env.ts';
import { uniq } from '../support/ids.ts';
import { ACME_DIR } from '../support/swarm.ts';
import { SseReader, startApi, token, type ApiHarness } from './api-harness.ts';

const ACME_1 = readFileSync(`${ACME_DIR}/01-announcement.txt`, 'utf8');
type Scope = { hold: string | null; held_by: string | null; held_since: string | null; state: { node: string; epoch: number }; finality: { rounds: number }; certificates: number };
type ReviewJson = { review_id: string; kind: string; status: string };

let h: ApiHarness;
let swarm: SwarmRuntime;
const people = { auditor: token(), analyst: token() };
let app: ApiHarness['app'];
beforeAll(async () => {
  h = await startApi();
  // The console's people too: an auditor (viewer) and an analyst (ingester), neither an operator.
  app = h.appWith({ API_TOKENS: `${h.env.API_TOKENS}, ${people.auditor}=user:auditor, ${people.analyst}=user:analyst` });
  const env = { ...h.env, BRIDGE_DEPLOYMENT_ID: uniq('hold-'), BRIDGE_HEALTH_PORT: 0, BRIDGE_INBOX_CLEANUP_MS: 0 };
  swarm = await startSwarm(env, { deps: createDeps({ env, db: h.guarded }) });
}, 60_000);
afterAll(async () => {
  await swarm?.stop();
  await h?.close();
});

const op = (action: string, scope: string, json: unknown = {}, tok = h.tokens.operator) => h.call('POST', `/v1/scopes/${scope}/${action}`, { token: tok, json, app });
const summary = async (scope: string) => (await (await h.call('GET', `/v1/scopes/${scope}`, { token: h.tokens.operator })).json()) as Scope;
const submit = (scope: string, title = 'Announcement', text = ACME_1) => h.call('POST', `/v1/scopes/${scope}/documents`, { json: { title, text } });
const pending = async (scope: string) =>
  ((await (await h.call('GET', `/v1/scopes/${scope}/reviews`, { token: h.tokens.operator })).json()) as { reviews: ReviewJson[] }).reviews;
const newScope = async (prefix: string) => {
  const scope = uniq(prefix);
  expect((await h.call('PUT', `/v1/scopes/${scope}`, { json: {} })).status).toBe(201);
  return scope;
};
const sql = async <R>(text: string, params: unknown[]) => (await h.db.pool.query(text, params)).rows as R[];

describe('pause and resume', () => {
  it('a paused scope takes the document, holds its cycle, and resume finishes it (state back to ContextIngested, finality evaluated)', async () => {
    const scope = await newScope('pause-');
    const events = new SseReader(await h.call('GET', `/v1/scopes/${scope}/events`, { token: h.tokens.operator }));
    await events.waitFor((e) => e.event === 'ready');
    const paused = await op('pause', scope, { reason: 'checking the seller’s figures' });
    expect(paused.status).toBe(200);
    expect(await paused.json()).toMatchObject({ scope, hold: 'paused', held_by: 'user:operator', changed: true, released: 0 });
    // Idempotent: the same state, nothing changed, one event.
    expect(await (await op('pause', scope)).json()).toMatchObject({ hold: 'paused', changed: false });

    // The document is accepted and read; the proposal it leads to is held by governance.
    expect((await submit(scope)).status).toBe(202);
    await waitFor('the facts proposal to be held', async () => (await sql(`SELECT 1 FROM held_messages WHERE scope_id = $1 AND consumer = 'governance'`, [scope])).length > 0, { timeoutMs: 60_000 });
    expect(await sql(`SELECT kind FROM context_log WHERE scope_id = $1 AND kind = 'context_doc'`, [scope])).toHaveLength(1);
    const during = await summary(scope);
    expect(during).toMatchObject({ hold: 'paused', held_by: 'user:operator', state: { node: 'ContextIngested', epoch: 0 }, finality: { rounds: 0 } });
    expect(during.held_since).toEqual(expect.any(String));
    // The list shows the hold as well.
    const list = (await (await h.call('GET', '/v1/scopes?limit=200', { token: h.tokens.operator })).json()) as { scopes: { scope: string; hold: string | null }[] };
    expect(list.scopes.find((s) => s.scope === scope)?.hold).toBe('paused');

    // The event stream says so (every open console refreshes).
    const said = await events.waitFor((e) => e.event === 'scope.hold_changed');
    expect(JSON.parse(said.data!).payload).toMatchObject({ action: 'pause', hold: 'paused', by: 'user:operator', reason: 'checking the seller’s figures' });
    await events.cancel();

    const resumed = await op('resume', scope, { reason: 'figures confirmed' });
    expect(await resumed.json()).toMatchObject({ hold: null, held_by: null, held_since: null, changed: true, released: 1 });
    const after = await waitFor(
      'the cycle to finish and finality to evaluate',
      async () => {
        const s = await summary(scope);
        return s.state.node === 'ContextIngested' && s.state.epoch === 3 && s.finality.rounds >= 1 ? s : undefined;
      },
      { timeoutMs: 60_000 },
    );
    expect(after.hold).toBeNull();
    expect(await sql('SELECT 1 FROM held_messages WHERE scope_id = $1', [scope])).toEqual([]);
    expect(await (await op('resume', scope)).json()).toMatchObject({ hold: null, changed: false, released: 0 });

    // In the timeline (and so the event stream) and in the decision records.
    const timeline = (await (await h.call('GET', `/v1/scopes/${scope}/timeline?kinds=scope_paused,scope_resumed`, { token: h.tokens.operator })).json()) as {
      entries: { kind: string; summary: string }[];
    };
    expect(timeline.entries.map((e) => e.summary).sort()).toEqual(['scope paused (by user:operator): checking the seller’s figures', 'scope resumed (by user:operator): figures confirmed']);
    const decisions = await sql<{ action: string; proposer: string; rationale: string }>(
      `SELECT action, proposer, rationale FROM decision_records WHERE scope_id = $1 AND governance_path = 'operator' ORDER BY created_at`,
      [scope],
    );
    expect(decisions).toEqual([
      { action: 'pause_scope', proposer: 'user:operator', rationale: 'checking the seller’s figures' },
      { action: 'resume_scope', proposer: 'user:operator', rationale: 'figures confirmed' },
    ]);
  }, 180_000);
});

describe('close', () => {
  it('supersedes pending reviews, refuses documents, answers, pause and resume (409 scope_closed), and keeps history and certificates', async () => {
    // Two scopes: one certified before it is closed, one closed with its finality review pending.
    const scope = await newScope('close-');
    const certified = await newScope('closecert-');
    expect((await submit(scope)).status).toBe(202);
    expect((await submit(certified)).status).toBe(202);
    const finalityReview = (s: string) => waitFor(`a finality review of ${s}`, async () => (await pending(s)).find((r) => r.kind === 'finality_review'), { timeoutMs: 60_000 });
    const review = await finalityReview(certified);
    expect((await h.call('POST', `/v1/reviews/${review.review_id}/respond`, { token: h.tokens.operator, json: { option: 'approve_finality' } })).status).toBe(202);
    const certs = await waitFor(
      'a certificate',
      async () => {
        const body = (await (await h.call('GET', `/v1/scopes/${certified}/certificates`, { token: h.tokens.operator })).json()) as { certificates: { certificate_id: string }[] };
        return body.certificates.length ? body.certificates : undefined;
      },
      { timeoutMs: 60_000 },
    );
    const open = await finalityReview(scope);

    const closed = await op('close', scope, { reason: 'deal abandoned' });
    expect(closed.status).toBe(200);
    const body = (await closed.json()) as { hold: string; superseded_reviews: string[] };
    expect(body).toMatchObject({ hold: 'closed', changed: true });
    expect(body.superseded_reviews).toContain(open.review_id);
    expect(await pending(scope)).toEqual([]);

    const refused = async (res: Response | Promise<Response>) => {
      const r = await res;
      expect(r.status).toBe(409);
      return ((await r.json()) as { error: { code: string; message: string } }).error;
    };
    expect(await refused(submit(scope, 'Late', 'A late memo with 12 engineers.'))).toMatchObject({ code: 'scope_closed', message: expect.stringContaining('closed by user:operator') });
    expect((await refused(h.call('POST', `/v1/reviews/${open.review_id}/respond`, { token: h.tokens.operator, json: { option: 'approve_finality' } }))).code).toBe('scope_closed');
    expect((await refused(op('pause', scope))).code).toBe('scope_closed');
    expect((await refused(op('resume', scope))).code).toBe('scope_closed');
    expect(await (await op('close', scope)).json()).toMatchObject({ hold: 'closed', changed: false, superseded_reviews: [] });

    // Reads keep working: the summary, the history, the certificates.
    expect(await summary(scope)).toMatchObject({ hold: 'closed', held_by: 'user:operator' });
    const timeline = (await (await h.call('GET', `/v1/scopes/${scope}/timeline?kinds=scope_closed,context_doc`, { token: h.tokens.operator })).json()) as { entries: { kind: string }[] };
    expect(timeline.entries.map((e) => e.kind).sort()).toEqual(['context_doc', 'scope_closed']);
    expect((await op('close', certified, { reason: 'certified; done' })).status).toBe(200);
    expect((await h.call('GET', `/v1/certificates/${certs[0]!.certificate_id}`, { token: h.tokens.operator })).status).toBe(200);
    const listed = (await (await h.call('GET', `/v1/scopes/${certified}/certificates`, { token: h.tokens.operator })).json()) as { certificates: unknown[] };
    expect(listed.certificates).toHaveLength(certs.length);
    expect(await summary(certified)).toMatchObject({ hold: 'closed', certificates: certs.length });
  }, 240_000);
});

describe('who may', () => {
  it('only an operator: a viewer, an analyst and the API agent get 403, a stranger and an unknown scope 404', async () => {
    const scope = await newScope('who-');
    for (const [who, tok] of [['auditor', people.auditor], ['analyst', people.analyst], ['agent:api', h.tokens.api]] as const) {
      for (const action of ['pause', 'resume', 'close']) {
        const res = await op(action, scope, {}, tok);
        expect(res.status, `${who} ${action}`).toBe(403);
      }
    }
    expect((await op('pause', scope, {}, h.tokens.intruder)).status).toBe(404);
    expect((await op('pause', uniq('nowhere-'))).status).toBe(404);
    // Every attempt is in the access log; nothing changed.
    expect(await sql(`SELECT 1 FROM access_log WHERE scope_id = $1 AND action LIKE 'scope.%' AND NOT allowed`, [scope])).toHaveLength(10);
    expect((await summary(scope)).hold).toBeNull();
    // A reason longer than 500 characters is refused, naming the field.
    const long = await op('pause', scope, { reason: 'x'.repeat(501) });
    expect(long.status).toBe(400);
    expect(JSON.stringify(await long.json())).toContain('reason');
    // The permissions endpoint tells the console whether to show the buttons.
    const perms = async (tok: string) => (await (await h.call('GET', `/v1/scopes/${scope}/permissions`, { token: tok, app })).json()) as { operator: boolean };
    expect((await perms(h.tokens.operator)).operator).toBe(true);
    expect((await perms(people.auditor)).operator).toBe(false);
  }, 60_000);
});
