// The planner step on a scope brought to DriftChecked by the real facts, drift,
// governance and executor steps (Acme docs 1-2): the rule table of governance.yaml
// for the drift drift published, or the plan of a scripted recordPlan call; the
// plan in the context log, plan.ready, and the proposal DriftChecked → ContextIngested.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { step as drift } from '../../../functions/drift/index.ts';
import { step as executor } from '../../../functions/executor/index.ts';
import { step as facts } from '../../../functions/facts/index.ts';
import { step as governance } from '../../../functions/governance/index.ts';
import { step as planner } from '../../../functions/planner/index.ts';
import { resetBreakers } from '../../../shared/adapters/resilience.ts';
import type { Envelope } from '../../../shared/contract/envelope.ts';
import { suggestedActions } from '../../../shared/domain/governance.ts';
import { loadLatestDrift } from '../../../shared/store/artifacts.ts';
import { scriptedModel } from '../../support/scripted-model.ts';
import { acme, emitted, envelope, logEntries, run, settle, swarmTestEnv, types, type SwarmTestEnv } from '../../support/swarm.ts';

let t: SwarmTestEnv;
beforeAll(async () => {
  t = await swarmTestEnv();
});
afterAll(async () => t?.close());
beforeEach(() => resetBreakers());

/** Docs 1-2 through facts, then governance, executor and drift until the scope reaches DriftChecked: the planner's wake-up. */
async function driftChecked(scope: string): Promise<Envelope> {
  await run(facts, t.deps, envelope('doc.submitted', scope, acme(1)));
  const second = await run(facts, t.deps, envelope('doc.submitted', scope, acme(2)));
  const delivered = await settle([governance, executor, drift], t.deps, [emitted(second, 'proposal.submitted')]);
  const wake = delivered.flatMap((d) => d.res.emit).find((e) => e.type === 'state.advanced' && e.payload.to === 'DriftChecked');
  expect(wake?.payload).toMatchObject({ from: 'FactsExtracted', to: 'DriftChecked', epoch: 2 });
  return wake!;
}

describe('planner', () => {
  it('offline: the rule table of governance.yaml for the current drift, plan.ready and the proposal DriftChecked → ContextIngested', async () => {
    const scope = await t.scope('p1-');
    const wake = await driftChecked(scope);
    const current = await loadLatestDrift(t.deps.artifacts, scope);
    expect(current).toMatchObject({ level: 'high', types: expect.arrayContaining(['contradiction']) });
    const expected = suggestedActions(t.deps.policies.governance().policy, current);
    expect(expected).toContain('open_investigation');

    const res = await run(planner, t.deps, wake);
    expect(types(res)).toEqual(['plan.ready', 'proposal.submitted']);
    expect(emitted(res, 'plan.ready').payload).toEqual({ actions: expected, tier: 'fallback' });
    expect(emitted(res, 'proposal.submitted').payload).toMatchObject({
      proposal_id: `${scope}/e2/planner`, proposer: 'planner', from: 'DriftChecked', to: 'ContextIngested', expected_epoch: 2, reason: `plan: ${expected.join(', ')}`,
      // The plan travels with the proposal: a reviewer sees it, and may amend it before approving.
      plan: { actions: expected },
    });
    const [entry] = await logEntries(t, scope, ['actions_planned']);
    expect(entry).toMatchObject({ source: 'planner', message_id: wake.id, payload: { actions: expected, tier: 'fallback', fallback_reason: 'no_model', drift: current } });
  });

  it('LLM path: the recordPlan call is the plan, tier llm; a plan that breaks the schema is not taken', async () => {
    const scope = await t.scope('p2-');
    const wake = await driftChecked(scope);
    const model = scriptedModel([
      { tools: [{ name: 'readDrift', args: {} }] },
      { tools: [{ name: 'recordPlan', args: { actions: ['reconcile_hiring_target', 'open_investigation'], reasoning: 'the 20 vs 15 hiring figure is the open question' } }] },
      { text: 'Planned.' },
    ]);
    const res = await run(planner, t.depsWith({ model }), wake);
    expect(emitted(res, 'plan.ready').payload).toEqual({ actions: ['reconcile_hiring_target', 'open_investigation'], tier: 'llm' });
    const [entry] = await logEntries(t, scope, ['actions_planned']);
    expect(entry!.payload).toMatchObject({ tier: 'llm', reasoning: 'the 20 vs 15 hiring figure is the open question' });
    // The model was told what the rule table suggests.
    expect(JSON.stringify(model.doGenerateCalls[0]!.prompt)).toContain('The rule table suggests');

    // Same wake-up for another scope, a model answering with actions that are not snake_case: the rule table stands.
    const other = await t.scope('p3-');
    const wake2 = await driftChecked(other);
    const bad = scriptedModel([{ tools: [{ name: 'recordPlan', args: { actions: ['Call The Board!'], reasoning: 'x' } }] }, { text: 'Done.' }]);
    const res2 = await run(planner, t.depsWith({ model: bad }), wake2);
    const rules = suggestedActions(t.deps.policies.governance().policy, await loadLatestDrift(t.deps.artifacts, other));
    expect(emitted(res2, 'plan.ready').payload).toEqual({ actions: rules, tier: 'fallback' });
    expect((await logEntries(t, other, ['actions_planned']))[0]!.payload).toMatchObject({ fallback_reason: 'no_decision' });
  });

  it('skipped unless the scope is at DriftChecked at the epoch of the wake-up', async () => {
    const scope = await t.scope('p4-');
    expect(await run(planner, t.deps, envelope('state.advanced', scope, { from: 'ContextIngested', to: 'FactsExtracted', epoch: 1 }))).toMatchObject({
      emit: [],
      result: { skipped: 'state moved to FactsExtracted' },
    });
    expect(await run(planner, t.deps, envelope('state.advanced', scope, { from: 'FactsExtracted', to: 'DriftChecked', epoch: 2 }))).toMatchObject({
      emit: [],
      result: { skipped: 'state moved on' },
    });
    expect(await logEntries(t, scope, ['actions_planned'])).toEqual([]);
  });
});
