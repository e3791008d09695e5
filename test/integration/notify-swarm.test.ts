// Notifications from the whole swarm (issue 13, item 4): the steps on their own bus
// credentials (the notifier publishes notification.deliver as step-notifier), a scope's
// webhook set through the API; governance asks for a review → the receiver is told,
// signed; the reviewer answers → the receiver is told who answered what.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSwarm, type SwarmRuntime } from '../../infra/swarm/runtime.ts';
import { createDeps } from '../../shared/runtime/deps.ts';
import { waitFor } from '../faults/support/env.ts';
import { uniq } from '../support/ids.ts';
import { WebhookReceiver } from '../support/webhook-receiver.ts';
import { startApi, type ApiHarness } from './api-harness.ts';

const HARBOR = join(import.meta.dirname, '../../infra/demo/scenarios/harbor');
const SECRET = 'swarm-secret-0123456789abcdefghij';
const receiver = new WebhookReceiver({ '/team': SECRET });

let h: ApiHarness;
let swarm: SwarmRuntime;
beforeAll(async () => {
  h = await startApi();
  await receiver.start();
  const env = { ...h.env, BRIDGE_DEPLOYMENT_ID: uniq('notify-swarm-'), BRIDGE_HEALTH_PORT: 0, BRIDGE_INBOX_CLEANUP_MS: 0, WEBHOOK_ALLOW_NETS: '127.0.0.1/32' };
  swarm = await startSwarm(env, { deps: createDeps({ env, db: h.guarded }) });
}, 60_000);
afterAll(async () => {
  await swarm?.stop();
  await receiver.stop();
  await h?.close();
});

describe('notifications from the swarm', () => {
  it('a review the swarm opens, and its answer, reach the scope’s webhook, signed', async () => {
    const scope = uniq('nsw-');
    const app = h.appWith({ WEBHOOK_ALLOW_NETS: '127.0.0.1/32' });
    expect((await h.call('PUT', `/v1/scopes/${scope}`, { json: {} })).status).toBe(201);
    const put = await h.call('PUT', `/v1/scopes/${scope}/webhooks/team`, { token: h.tokens.operator, app, json: { url: receiver.url('/team'), secret: SECRET, events: ['review.requested', 'review.responded'] } });
    expect(put.status).toBe(201);
    for (const file of ['01-information-memorandum.md', '02-quality-of-earnings.txt']) {
      expect((await h.call('POST', `/v1/scopes/${scope}/documents`, { json: { title: file, text: readFileSync(join(HARBOR, file), 'utf8') } })).status).toBe(202);
    }
    const requested = await waitFor('a review.requested notification', () => receiver.accepted('/team').find((r) => r.event === 'review.requested' && r.body.scope === scope), { timeoutMs: 90_000 });
    expect(requested.signed).toBe(true);
    const reviewId = (requested.body.data as { review_id: string }).review_id;
    const review = (await (await h.call('GET', `/v1/reviews/${reviewId}`, { token: h.tokens.operator })).json()) as { status: string; scope: string };
    expect(review).toMatchObject({ scope, status: 'pending' });

    expect((await h.call('POST', `/v1/reviews/${reviewId}/respond`, { token: h.tokens.operator, json: { option: 'approve', note: 'fine by me' } })).status).toBe(202);
    const responded = await waitFor('a review.responded notification', () => receiver.accepted('/team').find((r) => r.event === 'review.responded' && (r.body.data as { review_id: string }).review_id === reviewId), { timeoutMs: 30_000 });
    expect(responded.signed).toBe(true);
    expect(responded.body.data).toMatchObject({ option: expect.stringMatching(/approve/), responder: 'user:operator' });
    expect(responded.raw).not.toContain('fine by me');
  }, 180_000);
});
