// The status step against the real services, woken by the messages the real facts
// and finality steps emit: the template briefing (no model) or a scripted
// writeBriefing in the context log, built from the scope's real state; within the
// interval a second ordinary event is skipped by the activation filter, while a
// finality decision always gets a briefing.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { step as facts } from '../../../functions/facts/index.ts';
import { step as finality } from '../../../functions/finality/index.ts';
import { step as status } from '../../../functions/status/index.ts';
import { resetBreakers } from '../../../shared/adapters/resilience.ts';
import { templateBriefing, type BriefingInput } from '../../../shared/swarm/briefing.ts';
import { scriptedModel } from '../../support/scripted-model.ts';
import { acme, emitted, envelope, logEntries, rows, run, swarmTestEnv, type SwarmTestEnv } from '../../support/swarm.ts';

let t: SwarmTestEnv;
beforeAll(async () => {
  t = await swarmTestEnv();
});
afterAll(async () => t?.close());
beforeEach(() => resetBreakers());

/** Acme docs 1-2 through facts; the facts.extracted of doc 2. */
async function withEvidence(scope: string) {
  await run(facts, t.deps, envelope('doc.submitted', scope, acme(1)));
  return emitted(await run(facts, t.deps, envelope('doc.submitted', scope, acme(2))), 'facts.extracted');
}

const cards = (scope: string) => logEntries(t, scope, ['status_card']);

describe('status', () => {
  it('without a model: the template briefing of the real scope state, in the context log', async () => {
    const scope = await t.scope('st1-');
    const event = await withEvidence(scope);
    const res = await run(status, t.deps, event);
    expect(res.emit).toEqual([]);

    const [card, ...more] = await cards(scope);
    expect(more).toEqual([]);
    const p = card!.payload as unknown as BriefingInput & { briefing: string; tier: string; trigger: string };
    expect(card).toMatchObject({ source: 'status', message_id: event.id });
    expect(p).toMatchObject({ scope, node: 'ContextIngested', epoch: 0, status: 'open', openContradictions: 1, resolvedContradictions: 0, pendingReviews: 0, lastOutcome: null, tier: 'fallback', trigger: 'facts.extracted' });
    expect(p.briefing).toBe(templateBriefing(p));
    expect(p.briefing).toContain('1 open and 0 resolved contradiction(s)');
    expect(res.result).toEqual({ briefing: p.briefing, tier: 'fallback' });
  });

  it('with a model: the scripted writeBriefing text, tier llm', async () => {
    const scope = await t.scope('st2-');
    const event = await withEvidence(scope);
    const text = 'Acme is at ContextIngested with one open contradiction: the hiring target (20 vs 15+ engineers).';
    const model = scriptedModel([{ tools: [{ name: 'readSummary', args: {} }] }, { tools: [{ name: 'writeBriefing', args: { text } }] }, { text: 'Published.' }]);
    const res = await run(status, t.depsWith({ model }), event);
    expect(res.result).toEqual({ briefing: text, tier: 'llm' });
    const [card] = await cards(scope);
    expect(card!.payload).toMatchObject({ briefing: text, tier: 'llm', openContradictions: 1 });
    // The model was given the facts the template states.
    expect(JSON.stringify(model.doGenerateCalls[0]!.prompt)).toContain('1 open and 0 resolved contradiction(s)');
  });

  it('within the interval a second ordinary event is skipped; a finality decision is not', async () => {
    const scope = await t.scope('st3-');
    const event = await withEvidence(scope);
    await run(status, t.deps, event);
    expect(await cards(scope)).toHaveLength(1);

    // Another ordinary event right after: the activation filter (timer) holds it back, nothing is written.
    const skipped = await run(status, t.deps, envelope('status.tick', scope, {}));
    expect(skipped).toMatchObject({ emit: [], result: { skipped: 'no trigger fired' } });
    expect(await cards(scope)).toHaveLength(1);

    // A finality decision always gets a briefing, which names it.
    const decided = emitted(await run(finality, t.deps, envelope('finality.evaluate', scope, { reason: 'test' })), 'finality.decided');
    const res = await run(status, t.deps, decided);
    expect(res.result).toMatchObject({ tier: 'fallback' });
    const all = await cards(scope);
    expect(all).toHaveLength(2);
    expect(all[1]!.payload).toMatchObject({ trigger: 'finality.decided', lastOutcome: decided.payload.outcome });
    expect(String(all[1]!.payload.briefing)).toContain(`Last finality outcome: ${String(decided.payload.outcome)}.`);
    const [memory] = await rows<{ stats: { runs: number; activations: number } }>(t, `SELECT stats FROM agent_memory WHERE scope_id = $1 AND agent = 'status'`, [scope]);
    expect(memory!.stats).toMatchObject({ activations: 2 });
  });
});
