// Issue 13, item 1: a rejection must not stall the scope. Written before the fix, it failed:
// after a reviewer rejected the planner's proposal (DriftChecked → ContextIngested, held for a
// human by the critical-drift rule), nothing proposed again — the planner woke only on
// state.advanced — and the scope sat at DriftChecked until a new document arrived.
// Now the executor says proposal.rejected (with the note); the planner plans again with the
// note in view and asks again (a new proposal id, the note in its reason, shown in the new
// review); approving that advances the scope.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSwarm, type SwarmRuntime } from '../../infra/swarm/runtime.ts';
import { createDeps } from '../../shared/runtime/deps.ts';
import { waitFor } from '../faults/support/env.ts';
import { uniq } from '../support/ids.ts';
import { startApi, type ApiHarness } from './api-harness.ts';

const HARBOR = join(import.meta.dirname, '../../infra/demo/scenarios/harbor');
type ReviewJson = { review_id: string; kind: string; status: string; created_at: string; request: Record<string, unknown> };

let h: ApiHarness;
let swarm: SwarmRuntime;
beforeAll(async () => {
  h = await startApi();
  const env = { ...h.env, BRIDGE_DEPLOYMENT_ID: uniq('reject-'), BRIDGE_HEALTH_PORT: 0, BRIDGE_INBOX_CLEANUP_MS: 0 };
  swarm = await startSwarm(env, { deps: createDeps({ env, db: h.guarded }) });
}, 60_000);
afterAll(async () => {
  await swarm?.stop();
  await h?.close();
});

const pendingGovernance = async (scope: string) =>
  ((await (await h.call('GET', `/v1/scopes/${scope}/reviews`, { token: h.tokens.operator })).json()) as { reviews: ReviewJson[] }).reviews.filter((r) => r.kind === 'governance_review');

describe('a rejected proposal', () => {
  it('wakes the planner with the note: it asks again with the reason, and an approval then advances the scope', async () => {
    const scope = uniq('rej-');
    expect((await h.call('PUT', `/v1/scopes/${scope}`, { json: {} })).status).toBe(201);
    for (const file of ['01-information-memorandum.md', '02-quality-of-earnings.txt']) {
      const res = await h.call('POST', `/v1/scopes/${scope}/documents`, { json: { title: file, text: readFileSync(join(HARBOR, file), 'utf8') } });
      expect(res.status).toBe(202);
    }
    const first = await waitFor('the critical drift to hold the planner for a human', async () => (await pendingGovernance(scope))[0], { timeoutMs: 60_000 });
    const note = 'Not yet: ask the seller to reconcile the ARR bridge before the next cycle.';
    expect((await h.call('POST', `/v1/reviews/${first.review_id}/respond`, { token: h.tokens.operator, json: { option: 'reject', note } })).status).toBe(202);

    // Asked again: a new pending review whose request carries the rejection and its note.
    const again = await waitFor(
      'a new governance review after the rejection',
      async () => (await pendingGovernance(scope)).find((r) => r.review_id !== first.review_id),
      { timeoutMs: 30_000 },
    );
    expect(JSON.stringify(again.request)).toContain(note);

    expect((await h.call('POST', `/v1/reviews/${again.review_id}/respond`, { token: h.tokens.operator, json: { option: 'approve' } })).status).toBe(202);
    await waitFor('the scope to advance past DriftChecked', async () => {
      const s = (await (await h.call('GET', `/v1/scopes/${scope}`)).json()) as { state: { node: string } };
      return s.state.node !== 'DriftChecked' ? s : undefined;
    }, { timeoutMs: 30_000 });
  }, 180_000);
});
