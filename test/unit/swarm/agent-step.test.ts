// defineAgentStep: what follows from an agent step's name and budget, and `holds`.
import { describe, expect, it } from 'vitest';
import { PUBLISHERS } from '../../../shared/contract/messages.ts';
import { defineAgentStep } from '../../../shared/swarm/agent-step.ts';
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
