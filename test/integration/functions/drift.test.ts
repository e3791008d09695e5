// The drift step against the real services, on scopes brought to FactsExtracted by
// the real facts, governance and executor steps: the deterministic assessment of
// the Acme documents (docs 1-2: high, with the hiring contradiction), the drift
// artifact governance reads, drift.assessed and the proposal FactsExtracted →
// DriftChecked; the LLM path (a scripted recordDrift call); a wake-up for another
// node is skipped; documents that arrive between two assessments all count.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { step as drift } from '../../../functions/drift/index.ts';
import { step as executor } from '../../../functions/executor/index.ts';
import { step as facts } from '../../../functions/facts/index.ts';
import { step as governance } from '../../../functions/governance/index.ts';
import { SWARM_STEPS } from '../../../functions/registry.ts';
import { resetBreakers } from '../../../shared/adapters/resilience.ts';
import type { Envelope } from '../../../shared/contract/envelope.ts';
import type { Deps } from '../../../shared/runtime/deps.ts';
import { DriftDocument } from '../../../shared/store/artifacts.ts';
import { factsHead } from '../../../shared/store/facts-documents.ts';
import { readState } from '../../../shared/store/state.ts';
import { scriptedModel } from '../../support/scripted-model.ts';
import { acme, emitted, envelope, logEntries, run, settle, swarmTestEnv, types, type SwarmTestEnv } from '../../support/swarm.ts';

let t: SwarmTestEnv;
beforeAll(async () => {
  t = await swarmTestEnv();
});
afterAll(async () => t?.close());
beforeEach(() => resetBreakers());

const doc = (scope: string, n: 1 | 2 | 3 | 4 | 5) => envelope('doc.submitted', scope, acme(n));

/** Feed documents to the facts step, then let governance and the executor apply the first proposal: the state.advanced drift wakes on. */
async function factsExtracted(scope: string, docs: (1 | 2 | 3 | 4 | 5)[]): Promise<Envelope> {
  const proposals: Envelope[] = [];
  for (const n of docs) proposals.push(...(await run(facts, t.deps, doc(scope, n))).emit.filter((e) => e.type === 'proposal.submitted'));
  expect(proposals.length).toBeGreaterThan(0);
  const delivered = await settle([governance, executor], t.deps, [proposals[0]!]);
  const advanced = delivered.flatMap((d) => d.res.emit).find((e) => e.type === 'state.advanced');
  expect(advanced?.payload).toMatchObject({ to: 'FactsExtracted' });
  return advanced!;
}

const driftDoc = async (scope: string) => {
  const d = await t.deps.artifacts.latest(scope, 'drift');
  return d ? { pointer: d.pointer, doc: DriftDocument.parse(d.document) } : null;
};

async function assess(deps: Deps, wake: Envelope) {
  const res = await run(drift, deps, wake);
  expect(types(res)).toEqual(['drift.assessed', 'proposal.submitted']);
  return res;
}

describe('drift', () => {
  it('offline, Acme docs 1-2: high, with the contradiction; artifact, drift.assessed and the proposal FactsExtracted → DriftChecked', async () => {
    const scope = await t.scope('d1-');
    const wake = await factsExtracted(scope, [1, 2]);
    const res = await assess(t.deps, wake);

    const stored = await driftDoc(scope);
    const factsNow = await factsHead(t.guarded, scope);
    expect(stored!.doc).toMatchObject({ level: 'high', tier: 'fallback', facts_sha256: factsNow!.version, epoch: 1 });
    expect(stored!.doc.types).toContain('contradiction');
    expect(stored!.doc.notes).toContain('1 open contradiction(s), 1 new');
    expect(res.result).toMatchObject({ level: 'high', types: stored!.doc.types, tier: 'fallback', activated: true });
    expect(emitted(res, 'drift.assessed').payload).toEqual({ level: 'high', types: stored!.doc.types, drift_sha: stored!.pointer.sha256, tier: 'fallback' });
    expect(emitted(res, 'proposal.submitted').payload).toMatchObject({ proposal_id: `${scope}/e1/drift`, proposer: 'drift', from: 'FactsExtracted', to: 'DriftChecked', expected_epoch: 1 });
    const [entry] = await logEntries(t, scope, ['drift_analyzed']);
    expect(entry).toMatchObject({ source: 'drift', message_id: wake.id, payload: { level: 'high', tier: 'fallback', drift_sha256: stored!.pointer.sha256 } });

    // Governance reads this artifact: the next proposal's decision record carries its rule actions.
    const decided = await settle([governance], t.deps, [emitted(res, 'proposal.submitted')]);
    const decisionId = (decided[0]!.res.result as { decision_id: string }).decision_id;
    const { rows } = await t.db.pool.query('SELECT suggested_actions FROM decision_records WHERE decision_id = $1', [decisionId]);
    expect(rows[0].suggested_actions).toContain('open_investigation');
  });

  it('LLM path: the recordDrift call is the assessment, tier llm', async () => {
    const scope = await t.scope('d2-');
    const wake = await factsExtracted(scope, [1, 2]);
    const model = scriptedModel([
      { tools: [{ name: 'readOpenContradictions', args: {} }] },
      { tools: [{ name: 'recordDrift', args: { level: 'medium', types: ['contradiction'], notes: ['hiring target 20 vs 15+ still open'] } }] },
      { text: 'Recorded.' },
    ]);
    const res = await assess(t.depsWith({ model }), wake);
    expect(res.result).toMatchObject({ level: 'medium', types: ['contradiction'], tier: 'llm' });
    expect(emitted(res, 'drift.assessed').payload).toMatchObject({ level: 'medium', types: ['contradiction'], tier: 'llm' });
    expect((await driftDoc(scope))!.doc).toMatchObject({ level: 'medium', types: ['contradiction'], notes: ['hiring target 20 vs 15+ still open'], tier: 'llm' });
    // The model was shown the deterministic assessment, and the open contradiction when it asked for it.
    expect(JSON.stringify(model.doGenerateCalls[0]!.prompt)).toContain('The deterministic assessment is {\\"level\\":\\"high\\"');
    expect(JSON.stringify(model.doGenerateCalls[1]!.prompt)).toContain('found_in');
  });

  it('skipped when the state is not FactsExtracted (another node, or moved on)', async () => {
    const scope = await t.scope('d3-');
    await run(facts, t.deps, doc(scope, 1));
    const other = await run(drift, t.deps, envelope('state.advanced', scope, { from: 'FactsExtracted', to: 'DriftChecked', epoch: 2 }));
    expect(other).toMatchObject({ emit: [], result: { skipped: 'state moved to DriftChecked' } });
    // A wake-up for FactsExtracted while the scope is still at ContextIngested, epoch 0.
    const stale = await run(drift, t.deps, envelope('state.advanced', scope, { from: 'ContextIngested', to: 'FactsExtracted', epoch: 1 }));
    expect(stale).toMatchObject({ emit: [], result: { skipped: 'state moved on' } });
    expect(await driftDoc(scope)).toBeNull();
    expect(await logEntries(t, scope, ['drift_analyzed'])).toEqual([]);
  });

  it('documents arriving between two assessments all count: the contradiction doc 2 raised is new to the next one', async () => {
    const scope = await t.scope('d4-');
    // Cycle 1 with doc 1 alone, all the way back to ContextIngested.
    const first = await run(facts, t.deps, doc(scope, 1));
    await settle(SWARM_STEPS, t.deps, [emitted(first, 'proposal.submitted')], { skip: ['status', 'finality'] });
    expect(await readState(t.guarded, scope)).toMatchObject({ node: 'ContextIngested', epoch: 3 });
    const seen = (await driftDoc(scope))!.doc;
    expect(seen).toMatchObject({ level: 'none', notes: expect.arrayContaining(['initial snapshot']) });

    // Docs 2 and 3 both arrive before drift looks again.
    const wake = await factsExtracted(scope, [2, 3]);
    expect(wake.payload).toMatchObject({ epoch: 4 });
    const res = await assess(t.deps, wake);
    const now = (await driftDoc(scope))!.doc;
    expect(now.level).toBe('high');
    // Raised by doc 2 — not by the latest document — and never assessed before: new.
    expect(now.notes).toContain('1 open contradiction(s), 1 new');
    // The hiring figure doc 2 restated with another value than doc 1: factual drift, referencing doc 2.
    expect(now.types).toEqual(expect.arrayContaining(['contradiction', 'factual']));
    expect(now.notes).toEqual(expect.arrayContaining([expect.stringMatching(/^engineers .*\(count:engineer, .*\): 20 in acme-1, 15\+ in acme-2$/)]));
    expect(now.references).toEqual(expect.arrayContaining([expect.objectContaining({ type: 'factual', doc: 'acme-2' })]));
    expect(res.result).toMatchObject({ level: 'high', activated: true });
  });

  it('another writer replacing the drift artifact between its read and its write: retried in the step, not thrown', async () => {
    const scope = await t.scope('d5-');
    const wake = await factsExtracted(scope, [1]);
    const real = t.deps.artifacts;
    let raced = 0;
    const artifacts: typeof real = {
      ...real,
      // The first two drift publishes lose the race: someone else publishes just before them.
      async publish(sc, kind, document, opts) {
        if (kind === 'drift' && raced < 2) {
          raced++;
          await real.publish(sc, kind, { level: 'low', types: [], notes: [`other writer ${raced}`], references: [] }, { writer: 'other' });
        }
        return real.publish(sc, kind, document, opts);
      },
    };
    const res = await assess(t.depsWith({ artifacts }), wake);
    expect(raced).toBe(2);
    const stored = (await driftDoc(scope))!;
    // Ours is the latest, on top of the other writer's two versions.
    expect(stored.pointer.version).toBe(3);
    expect(emitted(res, 'drift.assessed').payload).toMatchObject({ drift_sha: stored.pointer.sha256 });
    expect(stored.doc.notes).toContain('initial snapshot');
  });
});
