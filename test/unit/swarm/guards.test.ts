// The checks the agent steps share: their own OpenFGA relation on the scope (closed on
// an outage, retried; permanent on a denial) and the "state moved on" guard.
import { describe, expect, it } from 'vitest';
import type { CheckRequest, CheckResult } from '../../../shared/adapters/authz.ts';
import { PermanentError, TransientError } from '../../../shared/contract/errors.ts';
import type { ScopeState } from '../../../shared/domain/state-machine.ts';
import { movedOn, requireAgentRelation, stillAt } from '../../../shared/swarm/guards.ts';

const authz = (result: CheckResult) => {
  const asked: CheckRequest[] = [];
  return { asked, check: async (req: CheckRequest) => (asked.push(req), result) };
};

describe('requireAgentRelation', () => {
  it('asks for agent:<name> on scope:<scope> and passes when allowed', async () => {
    const a = authz({ allowed: true, reason: 'allowed' });
    await expect(requireAgentRelation(a, 'executor', 'executor', 'acme', 'may not execute on')).resolves.toBeUndefined();
    expect(a.asked).toEqual([{ user: 'agent:executor', relation: 'executor', object: 'scope:acme' }]);
  });

  it('a denial is permanent and says who may not do what where', async () => {
    const err = await requireAgentRelation(authz({ allowed: false, reason: 'denied' }), 'finality', 'certifier', 'acme', 'may not certify').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PermanentError);
    expect(err).toMatchObject({ code: 'not_authorized', message: 'agent:finality may not certify scope:acme (denied)' });
  });

  it('an OpenFGA outage is transient: the message is retried, not dead-lettered', async () => {
    const err = await requireAgentRelation(authz({ allowed: false, reason: 'unavailable', detail: 'breaker open' }), 'facts', 'contributor', 'acme', 'is not a contributor on').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TransientError);
    expect(err).toMatchObject({ code: 'authz_unavailable', message: 'OpenFGA unavailable: breaker open' });
  });
});

describe('stillAt', () => {
  const state = (node: ScopeState['node'], epoch: number): ScopeState => ({ scope: 'acme', node, epoch, runId: null, updatedAt: new Date(0) });
  it('holds only for the same node at the same epoch', () => {
    expect(stillAt(state('FactsExtracted', 3), 'FactsExtracted', 3)).toBe(true);
    expect(stillAt(state('FactsExtracted', 4), 'FactsExtracted', 3)).toBe(false);
    expect(stillAt(state('DriftChecked', 3), 'FactsExtracted', 3)).toBe(false);
    expect(stillAt(null, 'FactsExtracted', 3)).toBe(false);
    expect(movedOn()).toEqual({ result: { skipped: 'state moved on' } });
  });
});
