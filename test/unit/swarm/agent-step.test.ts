// defineAgentStep: what follows from an agent step's name and budget, `holds`, and the
// typed handlers of `on` (each gets its payload parsed; `entering` filters state.advanced).
import { describe, expect, it } from 'vitest';
import { PUBLISHERS } from '../../../shared/contract/messages.ts';
import type { Envelope } from '../../../shared/contract/envelope.ts';
import type { StepContext } from '../../../shared/runtime/step.ts';
import { defineAgentStep, dispatch } from '../../../shared/swarm/agent-step.ts';
import { entering } from '../../../shared/swarm/guards.ts';
import { RELEASE_TYPE } from '../../../shared/swarm/hold.ts';

describe('defineAgentStep', () => {
  const budget = { timeoutMs: 1_000, llm: [] };
  it('emits what PUBLISHERS allows the agent, and consumes hold.released only when it holds', () => {
    const held = defineAgentStep('planner', budget, { consumes: ['state.advanced'], holds: true, handle: async () => {} });
    expect(held).toMatchObject({ name: 'planner', emits: PUBLISHERS.planner, consumes: ['state.advanced', RELEASE_TYPE], idempotency: 'claim' });
    const plain = defineAgentStep('status', budget, { consumes: ['status.tick'], idempotency: 'optimistic', handle: async () => {} });
    expect(plain).toMatchObject({ name: 'status', emits: PUBLISHERS.status, consumes: ['status.tick'], idempotency: 'optimistic' });
  });
});

describe('defineAgentStep with `on`', () => {
  const budget = { timeoutMs: 1_000, llm: [] };
  const envelope = (type: string, payload: unknown) => ({ id: 'm1', type, scope: 'acme', payload }) as unknown as Envelope;
  const ctx = {} as StepContext;

  it("consumes the handlers' types (and hold.released when it holds)", () => {
    const s = defineAgentStep('executor', budget, { holds: true, on: { 'action.approved': async () => {}, 'review.escalated': async () => {} } });
    expect(s.consumes).toEqual(['action.approved', 'review.escalated', RELEASE_TYPE]);
  });

  it('hands each handler its payload parsed by the schema of the type that arrived', async () => {
    const seen: unknown[] = [];
    const handle = dispatch({
      'state.advanced': async (adv) => void seen.push(['advanced', adv.to, adv.epoch]),
      'proposal.rejected': async (r) => void seen.push(['rejected', r.review_id]),
    });
    await handle(envelope('state.advanced', { from: 'ContextIngested', to: 'FactsExtracted', epoch: 3 }), ctx);
    expect(seen).toEqual([['advanced', 'FactsExtracted', 3]]);
  });

  it('a payload that does not match its schema never reaches the handler', async () => {
    let called = false;
    const handle = dispatch({ 'state.advanced': async () => void (called = true) });
    await expect(handle(envelope('state.advanced', { from: 'ContextIngested', to: 'Nowhere', epoch: -1 }), ctx)).rejects.toThrow();
    expect(called).toBe(false);
  });
});

describe('entering', () => {
  it('runs the handler only when the scope enters the node; any other advance is skipped', async () => {
    const runs: number[] = [];
    const h = entering('DriftChecked', async (adv) => (runs.push(adv.epoch), { result: { ran: true } }));
    const msg = { id: 'm', type: 'state.advanced', scope: 'acme', payload: {} } as unknown as Envelope;
    expect(await h({ from: 'FactsExtracted', to: 'DriftChecked', epoch: 4 }, msg, {} as StepContext)).toEqual({ result: { ran: true } });
    expect(await h({ from: 'DriftChecked', to: 'ContextIngested', epoch: 5 }, msg, {} as StepContext)).toEqual({ result: { skipped: 'state moved to ContextIngested' } });
    expect(runs).toEqual([4]);
  });
});
