// The API's messages as the step functions receive them: the whole swarm (every step
// in-process behind a bridge, offline fallbacks) on the harness's database, store and
// stream. A document goes in through the API, a MITL governance review comes out, a
// human approves it through the API, the executor records it and advances the scope,
// and the event stream shows each step.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSwarm, type SwarmRuntime } from '../../infra/swarm/runtime.ts';
import { createDeps } from '../../shared/runtime/deps.ts';
import { ReviewList, Summary } from '../../functions/api/schemas.ts';
import { waitFor } from '../faults/support/env.ts';
import { uniq } from '../support/ids.ts';
import { SseReader, startApi, type ApiHarness } from './api-harness.ts';

let h: ApiHarness;
let swarm: SwarmRuntime;
beforeAll(async () => {
  h = await startApi();
  const env = { ...h.env, BRIDGE_DEPLOYMENT_ID: uniq('api-swarm-'), BRIDGE_HEALTH_PORT: 0, BRIDGE_INBOX_CLEANUP_MS: 0 };
  swarm = await startSwarm(env, { deps: createDeps({ env, db: h.guarded }) });
}, 60_000);
afterAll(async () => {
  await swarm?.stop();
  await h?.close();
});

describe('API and swarm', () => {
  it('document in, governance review out, approval through the API applied by the executor; a second answer is 409', async () => {
    const scope = uniq('sw-');
    expect((await h.call('PUT', `/v1/scopes/${scope}`, { json: { mode: 'MITL' } })).status).toBe(201);
    const events = new SseReader(await h.app.request(`/v1/scopes/${scope}/events`, { headers: { authorization: `Bearer ${h.tokens.operator}` } }));
    await events.waitFor((e) => e.event === 'ready');

    const text = 'Acme will hire 20 engineers by Q3 2025. The board approved a budget of 4 million euros for the expansion.';
    expect((await h.call('POST', `/v1/scopes/${scope}/documents`, { json: { title: 'Announcement', text } })).status).toBe(202);
    await events.waitFor((e) => e.event === 'review.requested', 30_000);

    const pending = ReviewList.parse(await (await h.call('GET', `/v1/scopes/${scope}/reviews`, { token: h.tokens.operator })).json());
    const review = pending.reviews.find((r) => r.kind === 'governance_review');
    expect(review).toMatchObject({ status: 'pending', options: ['approve', 'reject'] });
    const before = Summary.parse(await (await h.call('GET', `/v1/scopes/${scope}`)).json());
    expect(before.state).toMatchObject({ node: 'ContextIngested', epoch: 0 });
    expect(before.pending_reviews.map((r) => r.review_id)).toContain(review!.review_id);

    const res = await h.call('POST', `/v1/reviews/${review!.review_id}/respond`, { token: h.tokens.operator, json: { option: 'approve', note: 'looks right' } });
    expect(res.status).toBe(202);
    const advanced = await events.waitFor((e) => e.event === 'state.advanced', 30_000);
    expect(JSON.parse(advanced.data!).payload).toMatchObject({ from: 'ContextIngested', to: 'FactsExtracted', epoch: 1 });

    const after = await waitFor('the review to be recorded', async () => {
      const r = (await (await h.call('GET', `/v1/reviews/${review!.review_id}`)).json()) as { status: string; responded_by: string | null };
      return r.status === 'pending' ? undefined : r;
    });
    expect(after).toMatchObject({ status: 'approved', responded_by: 'user:operator' });
    const again = await h.call('POST', `/v1/reviews/${review!.review_id}/respond`, { token: h.tokens.operator, json: { option: 'reject' } });
    expect(again.status).toBe(409);
    expect(Summary.parse(await (await h.call('GET', `/v1/scopes/${scope}`)).json()).state.epoch).toBeGreaterThanOrEqual(1);
    await events.cancel();
  }, 90_000);
});
