// Notifications on real services (issue 13, item 4): a scope's webhook set through the
// API and a global one from WEBHOOKS; events published on the bus reach a local
// receiver through the notifier (in an in-process bridge), signed; a 500 is retried;
// a receiver that is down gets it when it comes back; a 4xx, and a receiver failing
// NOTIFY_MAX_ATTEMPTS times, end in the dead letters, and a replay delivers.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { replayDeadLetter } from '../../infra/bridge/dlq.ts';
import { step as notifier } from '../../functions/notifier/index.ts';
import type { Env } from '../../shared/config.ts';
import { startBridge, type RunningBridge } from '../faults/support/bridge.ts';
import { sleep, waitFor } from '../faults/support/env.ts';
import { envelope, publishAll } from '../faults/support/messages.ts';
import { uniq } from '../support/ids.ts';
import { WebhookReceiver } from '../support/webhook-receiver.ts';
import { startApi, type ApiHarness } from './api-harness.ts';

const SCOPE_SECRET = 'scope-secret-0123456789abcdefgh';
const GLOBAL_SECRET = 'global-secret-0123456789abcdefg';
const receiver = new WebhookReceiver({ '/scope': SCOPE_SECRET, '/global': GLOBAL_SECRET, '/flaky': SCOPE_SECRET, '/busy': SCOPE_SECRET, '/gone': SCOPE_SECRET, '/broken': SCOPE_SECRET });

let h: ApiHarness;
let env: Env;
let bridge: RunningBridge;
let operatorApp: ReturnType<ApiHarness['appWith']>;
const MAX_ATTEMPTS = 5;

beforeAll(async () => {
  h = await startApi();
  await receiver.start();
  env = {
    ...h.env,
    LOG_LEVEL: 'silent',
    BRIDGE_DEPLOYMENT_ID: uniq('notify-'),
    BRIDGE_HEALTH_PORT: 0,
    BRIDGE_INBOX_CLEANUP_MS: 0,
    BRIDGE_ACK_WAIT_MS: 5_000,
    BRIDGE_FETCH_EXPIRES_MS: 1_000,
    BRIDGE_NAK_BASE_MS: 200,
    BRIDGE_NAK_MAX_MS: 800,
    BRIDGE_SHUTDOWN_GRACE_MS: 5_000,
    // The receiver is on loopback: refused unless allowed, as in production.
    WEBHOOK_ALLOW_NETS: '127.0.0.1/32',
    NOTIFY_TIMEOUT_MS: 2_000,
    NOTIFY_MAX_ATTEMPTS: MAX_ATTEMPTS,
    API_PUBLIC_URL: 'https://swarm.example.com',
    WEBHOOKS: JSON.stringify([{ id: 'ops', url: receiver.url('/global'), events: ['certificate.issued', 'scope.blocked'], format: 'slack', secret: GLOBAL_SECRET }]),
  };
  operatorApp = h.appWith({ WEBHOOK_ALLOW_NETS: env.WEBHOOK_ALLOW_NETS });
  bridge = await startBridge(env, h.db, [notifier]);
}, 60_000);
afterAll(async () => {
  await bridge?.stop();
  await receiver.stop();
  await h?.close();
});

const newScope = async () => {
  const scope = uniq('hook-');
  expect((await h.call('PUT', `/v1/scopes/${scope}`, { json: {} })).status).toBe(201);
  return scope;
};
const putHook = (scope: string, id: string, json: unknown, token = h.tokens.operator, app = operatorApp) => h.call('PUT', `/v1/scopes/${scope}/webhooks/${id}`, { token, json, app });
const publish = (scope: string, type: string, id: string, payload: Record<string, unknown>) =>
  publishAll(h.js, env.NATS_SUBJECT_PREFIX, [{ ...envelope(type, id, payload, scope), ts: new Date().toISOString() }]);
/** Deliveries the bridge nakked because the receiver refused the connection. */
const refusedNaks = () => bridge.settled.filter((s) => s.consumer === 'fn-notifier' && s.outcome === 'nakked' && s.error?.code === 'ECONNREFUSED').length;
const deadLetters = async (messageLike: string) =>
  (await h.db.pool.query<{ id: string; error_code: string; reason: string; deliveries: number }>(`SELECT id, error_code, reason, deliveries FROM dead_letters WHERE consumer = 'fn-notifier' AND convert_from(data, 'UTF8') LIKE $1`, [`%${messageLike}%`])).rows;

describe('webhook configuration (API)', () => {
  it('operator only; the secret is shown once, when generated, and never read back', async () => {
    const scope = await newScope();
    // agent:api reads and ingests, but does not run the scope; a stranger does not see it.
    expect((await putHook(scope, 'a', { url: 'https://hooks.example.com/a' }, h.tokens.api)).status).toBe(403);
    expect((await putHook(scope, 'a', { url: 'https://hooks.example.com/a' }, h.tokens.intruder)).status).toBe(404);

    const created = await putHook(scope, 'a', { url: 'https://hooks.example.com/a', events: ['review.requested'], format: 'slack' });
    expect(created.status).toBe(201);
    const c = (await created.json()) as { webhook: Record<string, unknown>; secret: string };
    expect(c.secret).toMatch(/^whsec_[A-Za-z0-9_-]{43}$/);
    expect(c.webhook).toMatchObject({ id: 'a', scope, url: 'https://hooks.example.com/a', events: ['review.requested'], format: 'slack', created_by: 'user:operator' });

    const list = await (await h.call('GET', `/v1/scopes/${scope}/webhooks`, { token: h.tokens.operator })).text();
    const one = await (await h.call('GET', `/v1/scopes/${scope}/webhooks/a`, { token: h.tokens.operator })).text();
    for (const body of [list, one]) {
      expect(body).toContain('hooks.example.com/a');
      expect(body).not.toContain(c.secret);
      expect(body).not.toContain('secret');
    }
    // A replace without a secret keeps it and shows nothing; one with a secret does not echo it.
    const replaced = await putHook(scope, 'a', { url: 'https://hooks.example.com/b' });
    expect(replaced.status).toBe(200);
    expect(await replaced.json()).not.toHaveProperty('secret');
    const { rows } = await h.db.pool.query<{ secret: string; url: string }>('SELECT secret, url FROM webhooks WHERE scope_id = $1', [scope]);
    expect(rows).toEqual([{ secret: c.secret, url: 'https://hooks.example.com/b' }]);
    const given = await putHook(scope, 'a', { url: 'https://hooks.example.com/b', secret: SCOPE_SECRET });
    expect(await given.text()).not.toContain(SCOPE_SECRET);

    expect((await h.call('DELETE', `/v1/scopes/${scope}/webhooks/a`, { token: h.tokens.api })).status).toBe(403);
    expect((await h.call('DELETE', `/v1/scopes/${scope}/webhooks/a`, { token: h.tokens.operator })).status).toBe(204);
    expect((await h.call('GET', `/v1/scopes/${scope}/webhooks/a`, { token: h.tokens.operator })).status).toBe(404);
    expect((await h.call('DELETE', `/v1/scopes/${scope}/webhooks/a`, { token: h.tokens.operator })).status).toBe(404);
    expect((await h.call('GET', `/v1/scopes/no-such-${scope}/webhooks`, { token: h.tokens.operator })).status).toBe(404);
    // Every write and its principal is in the access log.
    const log = await h.db.pool.query<{ action: string; allowed: boolean }>(`SELECT action, allowed FROM access_log WHERE scope_id = $1 AND action LIKE 'webhook.%' ORDER BY id`, [scope]);
    expect(log.rows.filter((r) => r.allowed).map((r) => r.action)).toEqual(['webhook.put', 'webhook.put', 'webhook.put', 'webhook.delete', 'webhook.delete']);
  });

  it('refuses a poison or oversized configuration with a clear 400 (413 past the body limit), and writes nothing', async () => {
    const scope = await newScope();
    const cases: [unknown, RegExp][] = [
      [{ url: 'file:///etc/passwd' }, /url: .*scheme file refused/],
      [{ url: 'http://user:pw@hooks.example.com/' }, /credentials/],
      [{ url: `https://hooks.example.com/${'a'.repeat(3_000)}` }, /url: at most 2000/],
      [{ url: 'https://hooks.example.com/', events: ['doc.submitted'] }, /events/],
      [{ url: 'https://hooks.example.com/', events: [] }, /events/],
      [{ url: 'https://hooks.example.com/', format: 'xml' }, /format/],
      [{ url: 'https://hooks.example.com/', secret: 'short' }, /secret: at least 24/],
      [{ url: 'https://hooks.example.com/', headers: { x: 1 } }, /headers|unrecognized/i],
      [['https://hooks.example.com/'], /expected object/i],
    ];
    for (const [json, message] of cases) {
      const res = await putHook(scope, 'p', json);
      const body = (await res.json()) as { error: { code: string; message: string } };
      expect(res.status, JSON.stringify(json).slice(0, 60)).toBe(400);
      expect(body.error.code).toBe('invalid_request');
      expect(body.error.message).toMatch(message);
    }
    expect((await putHook(scope, 'Bad Id!', { url: 'https://hooks.example.com/' })).status).toBe(400);
    const huge = await h.call('PUT', `/v1/scopes/${scope}/webhooks/p`, { token: h.tokens.operator, app: operatorApp, body: JSON.stringify({ url: 'https://hooks.example.com/', pad: 'x'.repeat(20_000) }), headers: { 'content-type': 'application/json' } });
    expect(huge.status).toBe(413);
    // SSRF: loopback, private and the cloud metadata address, literal or by name, unless allowed.
    for (const url of ['http://127.0.0.1:8080/', 'http://localhost:4222/', 'http://169.254.169.254/latest/meta-data/', 'http://[::1]/', 'http://10.0.0.8/']) {
      const res = await putHook(scope, 'p', { url }, h.tokens.operator, h.app);
      expect(res.status, url).toBe(400);
      expect(((await res.json()) as { error: { code: string; message: string } }).error).toMatchObject({ code: 'webhook_url_refused', message: expect.stringMatching(/not a public address/) });
    }
    const { rows } = await h.db.pool.query('SELECT 1 FROM webhooks WHERE scope_id = $1', [scope]);
    expect(rows).toHaveLength(0);
  });

  it(`keeps a scope to its limit of webhooks`, async () => {
    const scope = await newScope();
    for (let i = 0; i < 20; i++) expect((await putHook(scope, `w${i}`, { url: 'https://hooks.example.com/' })).status).toBe(201);
    const res = await putHook(scope, 'w20', { url: 'https://hooks.example.com/' });
    expect(res.status).toBe(409);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('too_many_webhooks');
    expect((await putHook(scope, 'w3', { url: 'https://hooks.example.com/x' })).status).toBe(200); // a replace is not one more
  });
});

describe('delivery', () => {
  it('sends each event once per webhook, signed, with the deterministic delivery id; only the events asked for', async () => {
    const scope = await newScope();
    expect((await putHook(scope, 'team', { url: receiver.url('/scope'), secret: SCOPE_SECRET })).status).toBe(201);
    const n0 = receiver.received.length;
    await publish(scope, 'review.requested', `rq-${scope}`, { review_id: `rev-${scope}`, kind: 'governance_review', reason: 'critical drift' });
    await publish(scope, 'review.responded', `rs-${scope}`, { review_id: `rev-${scope}`, kind: 'governance_review', option: 'reject', note: 'private note', responder: 'user:operator', access_id: 1 });
    await publish(scope, 'finality.decided', `fd-${scope}`, { round: 4, outcome: 'RESOLVED', goal_score: 0.9, lyapunov_v: 0.1, certificate_id: 'cert-1', review_id: null });
    await publish(scope, 'finality.decided', `fa-${scope}`, { round: 5, outcome: 'ACTIVE', goal_score: 0.5, lyapunov_v: 0.4, certificate_id: null, review_id: null });
    // The scope's webhook takes every event (3 of the 4 messages are notifications); the global one certificates and blocks.
    await waitFor('4 deliveries', () => receiver.received.length - n0 >= 4, { timeoutMs: 20_000 });
    await sleep(500);
    const got = receiver.received.slice(n0);
    expect(got).toHaveLength(4);
    expect(got.every((r) => r.signed && r.status === 200 && r.attempt === 1)).toBe(true);
    const byEvent = Object.fromEntries(got.map((r) => [`${r.path} ${r.event}`, r]));
    expect(Object.keys(byEvent).sort()).toEqual(['/global certificate.issued', '/scope certificate.issued', '/scope review.requested', '/scope review.responded']);

    const rq = byEvent['/scope review.requested']!;
    expect(rq.delivery).toBe(`notify:rq-${scope}:scope:team`);
    expect(rq.body).toMatchObject({
      id: rq.delivery,
      event: 'review.requested',
      scope,
      data: { review_id: `rev-${scope}`, kind: 'governance_review', reason: 'critical drift' },
      links: { console: `https://swarm.example.com/ui/#/scopes/${scope}` },
    });
    expect(byEvent['/scope review.responded']!.raw).not.toContain('private note');
    const slack = byEvent['/global certificate.issued']!;
    expect(slack.delivery).toBe(`notify:fd-${scope}:global:ops`);
    expect(Object.keys(slack.body)).toEqual(['text']);
    expect(slack.body.text).toContain('Certificate cert-1 issued (RESOLVED');
    // A signature made with another webhook's secret does not verify.
    expect(receiver.received.filter((r) => r.path === '/global').every((r) => r.signed)).toBe(true);

    const rows = await waitFor('the delivery records', async () => {
      const r = await h.db.pool.query<{ delivery_id: string }>('SELECT delivery_id FROM webhook_deliveries WHERE scope_id = $1', [scope]);
      return r.rows.length >= 4 ? r.rows : undefined;
    });
    expect(rows.map((r) => r.delivery_id).sort()).toEqual(got.map((r) => r.delivery).sort());
  }, 40_000);

  it('an event older than NOTIFY_MAX_AGE_MS is not sent, even in an older message shape (a new notifier reading old history)', async () => {
    const scope = await newScope();
    expect((await putHook(scope, 'team', { url: receiver.url('/scope'), secret: SCOPE_SECRET })).status).toBe(201);
    const n0 = receiver.received.length;
    const old = new Date(Date.now() - 7 * 3_600_000).toISOString();
    // A review.responded of before access ids: invalid today, and old, so skipped rather than dead-lettered.
    await publishAll(h.js, env.NATS_SUBJECT_PREFIX, [
      { ...envelope('review.responded', `old-rs-${scope}`, { review_id: `rev-${scope}`, kind: 'governance_review', option: 'approve', responder: 'user:alice' }, scope), ts: old },
      { ...envelope('review.requested', `old-rq-${scope}`, { review_id: `rev-${scope}`, kind: 'governance_review' }, scope), ts: old },
    ]);
    // A fresh event after them is sent: the old ones were handled (skipped), not stuck.
    await publish(scope, 'review.requested', `new-rq-${scope}`, { review_id: `rev2-${scope}`, kind: 'governance_review' });
    await waitFor('the fresh delivery', () => receiver.received.slice(n0).some((r) => r.delivery === `notify:new-rq-${scope}:scope:team`), { timeoutMs: 20_000 });
    await sleep(500);
    expect(receiver.received.slice(n0).filter((r) => r.body.scope === scope).map((r) => r.delivery)).toEqual([`notify:new-rq-${scope}:scope:team`]);
    expect(await deadLetters(`old-rs-${scope}`)).toEqual([]);
  }, 30_000);

  it('retries after a 500 and delivers on the next attempt, with the same delivery id', async () => {
    const scope = await newScope();
    expect((await putHook(scope, 'flaky', { url: receiver.url('/flaky'), secret: SCOPE_SECRET, events: ['review.requested'] })).status).toBe(201);
    receiver.script.set('/flaky', [500]);
    await publish(scope, 'review.requested', `rq-${scope}`, { review_id: `rev-${scope}`, kind: 'finality_review' });
    await waitFor('the delivery', () => receiver.accepted('/flaky').some((r) => r.delivery.includes(scope)), { timeoutMs: 20_000 });
    const tries = receiver.received.filter((r) => r.path === '/flaky' && r.delivery.includes(scope));
    expect(tries.map((r) => [r.status, r.attempt])).toEqual([[500, 1], [200, 2]]);
    expect(new Set(tries.map((r) => r.delivery)).size).toBe(1);
    expect(tries.every((r) => r.signed)).toBe(true);
    // The receiver records a request before the notifier has its answer: the row follows.
    const rows = await waitFor('the delivery record', async () => {
      const r = await h.db.pool.query<{ attempt: number; status_code: number }>('SELECT attempt, status_code FROM webhook_deliveries WHERE scope_id = $1', [scope]);
      return r.rows.length ? r.rows : undefined;
    });
    expect(rows).toEqual([{ attempt: 2, status_code: 200 }]);
  }, 30_000);

  it("a 429 with Retry-After waits at least that long before the next attempt (the bridge's own backoff here is under a second)", async () => {
    const scope = await newScope();
    expect((await putHook(scope, 'busy', { url: receiver.url('/busy'), secret: SCOPE_SECRET, events: ['review.requested'] })).status).toBe(201);
    receiver.script.set('/busy', [429]);
    receiver.retryAfter.set('/busy', '3');
    await publish(scope, 'review.requested', `rq-${scope}`, { review_id: `rev-${scope}`, kind: 'finality_review' });
    await waitFor('the delivery', () => receiver.accepted('/busy').some((r) => r.delivery.includes(scope)), { timeoutMs: 20_000 });
    const tries = receiver.received.filter((r) => r.path === '/busy' && r.delivery.includes(scope));
    expect(tries.map((r) => [r.status, r.attempt])).toEqual([[429, 1], [200, 2]]);
    expect(tries[1]!.at - tries[0]!.at).toBeGreaterThanOrEqual(2_900);
  }, 30_000);

  it('a notification sent while the receiver is down arrives after it comes back', async () => {
    const scope = await newScope();
    expect((await putHook(scope, 'team', { url: receiver.url('/scope'), secret: SCOPE_SECRET, events: ['review.escalated'] })).status).toBe(201);
    const port = receiver.port;
    const naks = refusedNaks();
    await receiver.stop();
    try {
      await publish(scope, 'review.escalated', `esc-${scope}`, { review_id: `rev-${scope}`, kind: 'governance_review', action: 'escalate', escalated_to: 'group:leads', deadline: '2026-12-01T00:00:00.000Z' });
      // At least one attempt fails on the closed port first.
      await waitFor('a failed attempt', () => refusedNaks() > naks, { timeoutMs: 10_000 });
    } finally {
      await receiver.start(port);
    }
    const got = await waitFor('the delivery after the receiver came back', () => receiver.accepted('/scope').find((r) => r.delivery === `notify:esc-${scope}:scope:team`), { timeoutMs: 20_000 });
    expect(got.attempt).toBeGreaterThan(1);
    expect(got.signed).toBe(true);
    expect(got.body).toMatchObject({ event: 'review.escalated', data: { action: 'escalate', escalated_to: 'group:leads' } });
  }, 40_000);

  it('a 4xx is dead-lettered at once; a receiver failing NOTIFY_MAX_ATTEMPTS times too; a replay delivers', async () => {
    const scope = await newScope();
    expect((await putHook(scope, 'gone', { url: receiver.url('/gone'), secret: SCOPE_SECRET, events: ['review.requested'] })).status).toBe(201);
    expect((await putHook(scope, 'broken', { url: receiver.url('/broken'), secret: SCOPE_SECRET, events: ['review.requested'] })).status).toBe(201);
    receiver.script.set('/gone', [410]);
    receiver.script.set('/broken', Array.from({ length: MAX_ATTEMPTS }, () => 503));
    await publish(scope, 'review.requested', `rq-${scope}`, { review_id: `rev-${scope}`, kind: 'governance_review' });

    const gone = await waitFor('the 410 dead letter', async () => (await deadLetters(`notify:rq-${scope}:scope:gone`))[0]);
    expect(gone).toMatchObject({ error_code: 'webhook_http_410', deliveries: 1 });
    const broken = await waitFor('the exhausted dead letter', async () => (await deadLetters(`notify:rq-${scope}:scope:broken`))[0], { timeoutMs: 30_000 });
    expect(broken.error_code).toBe('webhook_undeliverable');
    expect(broken.deliveries).toBe(MAX_ATTEMPTS);
    expect(broken.reason).toMatch(new RegExp(`gave up after ${MAX_ATTEMPTS} attempts .*http_503`));
    expect(receiver.received.filter((r) => r.path === '/broken' && r.delivery.includes(scope))).toHaveLength(MAX_ATTEMPTS);
    expect(receiver.received.filter((r) => r.path === '/gone' && r.delivery.includes(scope))).toHaveLength(1);

    // The receiver is fixed (its script is spent: 200 now); the operator replays the dead letter.
    await replayDeadLetter(h.js, h.guarded, env.NATS_SUBJECT_PREFIX, broken.id);
    const ok = await waitFor('the replayed delivery', () => receiver.accepted('/broken').find((r) => r.delivery === `notify:rq-${scope}:scope:broken`), { timeoutMs: 20_000 });
    expect(ok.signed).toBe(true);
    expect(ok.attempt).toBe(1); // a replay starts the count again
  }, 60_000);

  it('a webhook deleted before its notification is sent is not called', async () => {
    const scope = await newScope();
    expect((await putHook(scope, 'team', { url: receiver.url('/scope'), secret: SCOPE_SECRET })).status).toBe(201);
    const port = receiver.port;
    const naks = refusedNaks();
    await receiver.stop();
    try {
      await publish(scope, 'review.requested', `rq-${scope}`, { review_id: `rev-${scope}`, kind: 'governance_review' });
      await waitFor('a failed attempt', () => refusedNaks() > naks, { timeoutMs: 10_000 });
      expect((await h.call('DELETE', `/v1/scopes/${scope}/webhooks/team`, { token: h.tokens.operator })).status).toBe(204);
    } finally {
      await receiver.start(port);
    }
    await waitFor('the notification to be settled', async () => {
      const c = await h.jsm.consumers.info(env.NATS_STREAM, 'fn-notifier');
      return c.num_pending === 0 && c.num_ack_pending === 0;
    }, { timeoutMs: 20_000 });
    expect(receiver.received.filter((r) => r.delivery.includes(scope) && r.status === 200)).toHaveLength(0);
  }, 40_000);
});
