// The facts step against the real services: the offline extractor and the LLM path
// (a scripted recordFacts call), the graph it writes, the document's facts in S3, the
// hiring contradiction of the Acme documents (raised by doc 2, resolved by doc 5),
// redelivery, bad input, and the proposal it makes only from ContextIngested.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { documentEnvelope } from '../../../functions/api/publish.ts';
import { step as facts } from '../../../functions/facts/index.ts';
import { resetBreakers } from '../../../shared/adapters/resilience.ts';
import { extractFacts } from '../../../shared/extract/extract.ts';
import { listContradictions } from '../../../shared/store/contradictions.ts';
import { queryEdges, queryNodes } from '../../../shared/store/graph.ts';
import { advanceState, readState } from '../../../shared/store/state.ts';
import { factsHead, loadFactsSnapshot } from '../../../shared/store/facts-documents.ts';
import { uniq } from '../../support/ids.ts';
import { scriptedModel } from '../../support/scripted-model.ts';
import { acme, count, emitted, envelope, invoke, logEntries, run, swarmTestEnv, types, type SwarmTestEnv } from '../../support/swarm.ts';

let t: SwarmTestEnv;
beforeAll(async () => {
  t = await swarmTestEnv();
});
afterAll(async () => t?.close());
beforeEach(() => resetBreakers());

const doc = (scope: string, n: 1 | 2 | 3 | 4 | 5, id?: string) => envelope('doc.submitted', scope, acme(n), id);
const hiringEdges = async (scope: string) => (await queryEdges(t.guarded, scope, { kinds: ['contradicts'] })).filter((e) => e.metadata.metric === 'count:engineer');

describe('facts, offline extractor', () => {
  it('doc 1: context_doc entry, nodes with subject/metric/value, the facts artifact, facts.extracted and a proposal at the current epoch', async () => {
    const scope = await t.scope('f1-');
    const msg = doc(scope, 1);
    const res = await run(facts, t.deps, msg);
    const offline = extractFacts(String(acme(1).text));

    // The document and how it was read, in the context log, under the message id.
    const [entry, ...more] = await logEntries(t, scope, ['context_doc']);
    expect(more).toEqual([]);
    expect(entry).toMatchObject({ source: 'facts', message_id: msg.id, payload: { doc_id: 'acme-1', extraction_tier: 'fallback', fallback_reason: 'no_model', submitted_by: 'test' } });
    expect(entry!.payload.text).toBe(String(acme(1).text).trim());

    // Nodes: every goal of the extraction, and claims carrying their figure.
    const nodes = await queryNodes(t.guarded, scope);
    const goals = nodes.filter((n) => n.kind === 'goal');
    expect(goals.map((g) => g.content).sort()).toEqual([...new Set(offline.goals.map((g) => g.text))].sort());
    expect(goals.find((g) => g.metric === 'count:engineer')).toMatchObject({ value: { value: 20, approx: true, period: '2024-Q4' }, sourceDoc: 'acme-1', metadata: { state: 'open', deadline: { label: '2024-Q4' } } });
    const revenue = nodes.find((n) => n.kind === 'claim' && n.subject === 'revenue' && n.metric === 'USD');
    expect(revenue).toMatchObject({ value: { kind: 'money', value: 2_100_000, period: '2024-Q3', display: '2100000' }, sourceRef: { docs: ['acme-1'] }, hasEmbedding: true });
    expect(nodes.filter((n) => n.kind === 'claim')).toHaveLength(offline.claims.length);
    // Every figure is in the figures index with its subject embedding and sentence.
    const figures = await count(t, 'SELECT count(*) AS n FROM figures WHERE scope_id = $1 AND subject_embedding IS NOT NULL', [scope]);
    expect(figures).toBe(offline.claims.filter((c) => c.statement).length);
    expect(await hiringEdges(scope)).toEqual([]);

    // The scope's facts hold the document; facts.extracted names their version.
    const artifact = await loadFactsSnapshot(t.guarded, t.deps.factsObjects, scope);
    expect(artifact!.order).toEqual(['acme-1']);
    expect(artifact!.documents['acme-1']).toMatchObject({ title: acme(1).title, kind: 'document', tier: 'fallback' });
    expect(artifact!.documents['acme-1']!.facts.claims).toHaveLength(offline.claims.length);
    expect(types(res)).toEqual(['facts.extracted', 'proposal.submitted']);
    expect(emitted(res, 'facts.extracted').payload).toEqual({
      doc_id: 'acme-1', facts_sha: artifact!.version, tier: 'fallback', claims: offline.claims.length, goals: offline.goals.length, risks: offline.risks.length,
      contradictions_found: 0, contradictions_resolved: 0, goals_changed: 0, unembedded: 0,
    });
    expect(emitted(res, 'proposal.submitted').payload).toMatchObject({ proposal_id: `${scope}/e0/facts`, proposer: 'facts', action: 'advance_state', from: 'ContextIngested', to: 'FactsExtracted', expected_epoch: 0 });
    expect(res.emit.every((e) => e.scope === scope && e.causation === msg.id)).toBe(true);
  });

  it('doc 2 raises the hiring contradiction (20 vs 15+), doc 5 resolves it (15 accepted) and raises no new one', async () => {
    const scope = await t.scope('f2-');
    await run(facts, t.deps, doc(scope, 1));
    expect(await hiringEdges(scope)).toEqual([]);

    const second = await run(facts, t.deps, doc(scope, 2));
    expect(emitted(second, 'facts.extracted').payload).toMatchObject({ contradictions_found: 1, contradictions_resolved: 0 });
    const [edge, ...others] = await hiringEdges(scope);
    expect(others).toEqual([]);
    expect(edge).toMatchObject({ status: 'active', createdBy: 'facts', metadata: { found_in: 'acme-2', unit: expect.stringMatching(/engineers/) } });
    const sides = (edge!.metadata.sides as { display: string; node_id: string }[]).map((s) => s.display).sort();
    expect(sides).toEqual(['15+', '20']);
    // Both ends are current claims of the graph, and the report shows who states each value, in which sentence.
    const ends = (await queryNodes(t.guarded, scope, { kinds: ['claim'] })).filter((n) => [edge!.sourceId, edge!.targetId].includes(n.nodeId));
    expect(ends.map((n) => (n.value as { display: string }).display).sort()).toEqual(['15+', '20']);
    const [view] = await listContradictions(t.guarded, scope);
    expect(view!.sides.flatMap((x) => x.stated_by.map((b) => b.doc)).sort()).toEqual(['acme-1', 'acme-2']);
    expect(view!.sides.find((x) => x.display === '20')!.stated_by[0]!.sentence).toMatch(/hire approximately 20 engineers in Q4/);
    // Doc 2's risk register: risks with severities, each with its impact assessment.
    const nodes = await queryNodes(t.guarded, scope);
    const risk = nodes.find((n) => n.kind === 'risk' && n.content.startsWith('Talent market remains tight'));
    expect(risk).toMatchObject({ severity: 'high', metadata: { mitigation: expect.stringContaining('broaden geography') } });
    expect(nodes.find((n) => n.kind === 'assessment' && n.metadata.risk_node_id === risk!.nodeId)).toMatchObject({ metadata: { risk_delta: 0.04, mitigated: true } });

    await run(facts, t.deps, doc(scope, 3));
    await run(facts, t.deps, doc(scope, 4));
    const fifth = await run(facts, t.deps, doc(scope, 5));
    expect(emitted(fifth, 'facts.extracted').payload).toMatchObject({ contradictions_found: 0, contradictions_resolved: 1 });
    const after = await hiringEdges(scope);
    expect(after.map((e) => [e.edgeId, e.status])).toEqual([[edge!.edgeId, 'resolved']]);
    expect(after[0]!.metadata.resolution).toMatchObject({ doc: 'acme-5', how: 'restated', accepted: '15+', text: expect.stringMatching(/revised our hiring target from 20 to 15/) });
    // The rejected value retired: a later "20 engineers" finds only the accepted one to disagree with.
    expect(await count(t, `SELECT count(*) AS n FROM figures WHERE scope_id = $1 AND status = 'revised' AND revised_by = 'acme-5'`, [scope])).toBeGreaterThan(0);
    // Nothing open is left.
    expect(await queryEdges(t.guarded, scope, { kinds: ['contradicts'], statuses: ['active'] })).toEqual([]);
  });

  it('a goal\'s target is not contradicted by an actual stated as fact; two actuals are', async () => {
    const scope = await t.scope('f-tgt-');
    const submit = (id: string, text: string) => run(facts, t.deps, envelope('doc.submitted', scope, { doc_id: id, title: id, text: `${id.toUpperCase()}\n\n${text}`, submitted_by: 'test' }));
    await submit('plan', 'Our goal is to bring the leakage rate down to 15% by 2030.');
    expect(emitted(await submit('actual-1', 'The leakage rate was 19.4%.'), 'facts.extracted').payload).toMatchObject({ contradictions_found: 0 });
    expect(emitted(await submit('actual-2', 'The leakage rate reported to the regulator was 21.1%.'), 'facts.extracted').payload).toMatchObject({ contradictions_found: 1 });
    const [edge] = await queryEdges(t.guarded, scope, { kinds: ['contradicts'] });
    expect((edge!.metadata.sides as { display: string }[]).map((x) => x.display).sort()).toEqual(['19.4', '21.1']);
  });

  it("the README's one-line curl example keeps its sentence as body: the claim is extracted and stored", async () => {
    const scope = await t.scope('f1l-');
    // Exactly what POST /v1/scopes/{scope}/documents publishes for the README's example body.
    const msg = documentEnvelope(scope, { title: 'Memo', text: 'We will hire 20 engineers in Q4.', kind: 'document' }, 'agent:api');
    const res = await run(facts, t.deps, msg);
    expect(res.result).toMatchObject({ claims: 1 });
    const claims = await queryNodes(t.guarded, scope, { kinds: ['claim'] });
    expect(claims.map((n) => n.content)).toEqual(['We will hire 20 engineers in Q4.']);
  });

  it('a redelivered message returns the stored result and writes nothing twice', async () => {
    const scope = await t.scope('f3-');
    const msg = doc(scope, 2);
    const first = await run(facts, t.deps, msg);
    const snapshot = async () => ({
      nodes: await count(t, 'SELECT count(*) AS n FROM graph_nodes WHERE scope_id = $1', [scope]),
      edges: await count(t, 'SELECT count(*) AS n FROM graph_edges WHERE scope_id = $1', [scope]),
      log: await count(t, 'SELECT count(*) AS n FROM context_log WHERE scope_id = $1', [scope]),
      facts: await count(t, 'SELECT count(*) AS n FROM facts_documents WHERE scope_id = $1', [scope]),
      version: (await factsHead(t.guarded, scope))!.version,
    });
    const before = await snapshot();
    const again = await run(facts, t.deps, { ...msg, attempt: 2 });
    expect(again.replayed).toBe(true);
    expect(again.emit.map((e) => e.id)).toEqual(first.emit.map((e) => e.id));
    expect(again.result).toEqual(first.result);
    expect(await snapshot()).toEqual(before);
  });

  it('a malformed document is a permanent failure and writes nothing', async () => {
    const scope = await t.scope('f4-');
    for (const payload of [{ ...acme(1), doc_id: 'has spaces' }, { ...acme(1), text: '   ' }, { title: 'no text', submitted_by: 'x', doc_id: 'd' }]) {
      const msg = envelope('doc.submitted', scope, payload);
      const res = await invoke(facts, t.deps, msg);
      expect(res).toMatchObject({ ok: false, error: { class: 'permanent', code: 'invalid_input' } });
      expect(await count(t, 'SELECT count(*) AS n FROM inbox WHERE message_id = $1', [msg.id])).toBe(0);
    }
    expect(await count(t, 'SELECT count(*) AS n FROM context_log WHERE scope_id = $1', [scope])).toBe(0);
    expect(await count(t, 'SELECT count(*) AS n FROM graph_nodes WHERE scope_id = $1', [scope])).toBe(0);
    expect(await factsHead(t.guarded, scope)).toBeNull();
  });

  it('a document for a scope that does not exist: permanent scope_not_found', async () => {
    const ghost = uniq('ghost-');
    const res = await invoke(facts, t.deps, doc(ghost, 1));
    expect(res).toMatchObject({ ok: false, error: { class: 'permanent', code: 'scope_not_found' } });
    expect(await factsHead(t.guarded, ghost)).toBeNull();
  });

  it('mid-cycle: a document does not propose; the cycle coming back to ContextIngested does (new context), once', async () => {
    const scope = await t.scope('f5-');
    expect(types(await run(facts, t.deps, doc(scope, 1)))).toEqual(['facts.extracted', 'proposal.submitted']);
    await advanceState(t.guarded, { scope, from: 'ContextIngested', to: 'FactsExtracted', expectedEpoch: 0, source: 'test' });

    // Doc 2 arrives while the scope is at FactsExtracted: extracted, not proposed.
    expect(types(await run(facts, t.deps, doc(scope, 2)))).toEqual(['facts.extracted']);
    // The state moving on to another node is not the facts step's business.
    const toDrift = await advanceState(t.guarded, { scope, from: 'FactsExtracted', to: 'DriftChecked', expectedEpoch: 1, source: 'test' });
    expect(await run(facts, t.deps, envelope('state.advanced', scope, { from: 'FactsExtracted', to: 'DriftChecked', epoch: 2 }))).toMatchObject({ emit: [], result: { skipped: 'state moved to DriftChecked' } });
    expect(toDrift.ok).toBe(true);

    await advanceState(t.guarded, { scope, from: 'DriftChecked', to: 'ContextIngested', expectedEpoch: 2, source: 'test' });
    const state = (await readState(t.guarded, scope))!;
    expect(state).toMatchObject({ node: 'ContextIngested', epoch: 3 });
    const back = await run(facts, t.deps, envelope('state.advanced', scope, { from: 'DriftChecked', to: 'ContextIngested', epoch: 3 }));
    expect(emitted(back, 'proposal.submitted').payload).toMatchObject({ proposal_id: `${scope}/e3/facts`, from: 'ContextIngested', to: 'FactsExtracted', expected_epoch: 3 });
    // (The count is a distance in log sequence numbers: the state transitions in between count too.)
    expect(back.result).toMatchObject({ proposed: true, reasons: [expect.stringMatching(/^\d+ new context entr(y|ies)$/)] });

    // The same wake-up again (another message): nothing new since, so no second proposal.
    const again = await run(facts, t.deps, envelope('state.advanced', scope, { from: 'DriftChecked', to: 'ContextIngested', epoch: 3 }));
    expect(again).toMatchObject({ emit: [], result: { skipped: 'no trigger fired' } });
    const memory = await count(t, `SELECT last_seq AS n FROM agent_memory WHERE scope_id = $1 AND agent = 'facts'`, [scope]);
    const [, doc2] = await logEntries(t, scope, ['context_doc']);
    expect(memory).toBe(Number(doc2!.seq));
  });
});

describe('facts, LLM path (scripted model)', () => {
  const recordFacts = {
    figures: [
      { quote: 'Revenue for Q3 was $2.1M', subject: 'Q3 revenue', value: 2100000, unit: 'USD', period: 'Q3', role: 'asserted' },
      { quote: 'hire approximately 20 engineers in Q4', subject: 'engineers to hire', value: 20, unit: 'engineers', role: 'target' },
      // Not in the document: dropped and counted.
      { quote: 'Revenue for Q3 was $3.4M', subject: 'Q3 revenue', value: 3400000, unit: 'USD', role: 'asserted' },
    ],
    claims: [{ text: 'No guidance was updated', confidence: 0.7 }],
    goals: [{ text: 'Hire approximately 20 engineers in Q4', deadline: 'Q4 2024' }],
    goal_updates: [],
    risks: [{ text: 'The talent market is tight', severity: 'high' }],
    assumptions: ['Pipeline converts at Q3 rates'],
    revisions: [],
  };

  it('a recordFacts call is what gets stored, with tier llm recorded', async () => {
    const scope = await t.scope('fl-');
    const model = scriptedModel([{ tools: [{ name: 'recordFacts', args: recordFacts }] }, { text: 'Recorded.' }]);
    const msg = doc(scope, 1);
    const res = await run(facts, t.depsWith({ model }), msg);

    // The model was given the document.
    expect(JSON.stringify(model.doGenerateCalls[0]!.prompt)).toContain('Revenue for Q3 was $2.1M');
    expect(res.result).toMatchObject({ tier: 'llm', claims: 3, llm_dropped: 1 });
    expect(emitted(res, 'facts.extracted').payload).toMatchObject({ tier: 'llm', claims: 3, goals: 1, risks: 1 });
    const [entry] = await logEntries(t, scope, ['context_doc']);
    expect(entry!.payload).toMatchObject({ extraction_tier: 'llm' });
    expect(entry!.payload).not.toHaveProperty('fallback_reason');

    const nodes = await queryNodes(t.guarded, scope);
    expect(nodes.filter((n) => n.kind === 'claim').map((n) => n.content).sort()).toEqual(['No guidance was updated', 'Revenue for Q3 was $2.1M', 'hire approximately 20 engineers in Q4']);
    // The value is read back from the quote: "approximately 20" stays approximate, whatever the model said.
    expect(nodes.find((n) => n.content === 'hire approximately 20 engineers in Q4')).toMatchObject({ subject: 'engineers to hire', metric: 'count:engineer', value: { value: 20, approx: true } });
    expect(nodes.find((n) => n.content === 'Revenue for Q3 was $2.1M')).toMatchObject({ metric: 'USD', value: { value: 2_100_000, period: 'Q3' } });
    expect(nodes.find((n) => n.kind === 'risk')).toMatchObject({ content: 'The talent market is tight', severity: 'high' });
    expect(nodes.find((n) => n.kind === 'assessment')).toMatchObject({ metadata: { risk_delta: 0.08, mitigated: false } });
    const artifact = await loadFactsSnapshot(t.guarded, t.deps.factsObjects, scope);
    expect(artifact!.documents['acme-1']).toMatchObject({ tier: 'llm', facts: { assumptions: ['Pipeline converts at Q3 rates'] } });
  });

  it('the model failing, or too slow: the offline extractor decides and the reason is recorded', async () => {
    for (const [script, reason] of [
      [{ error: new Error('model backend unavailable') }, 'error: model backend unavailable'],
      [{ hang: true as const }, 'timeout'],
    ] as const) {
      const scope = await t.scope('ff-');
      const model = scriptedModel([script]);
      const res = await run(facts, t.depsWith({ model, llmTimeoutMs: 300 }), doc(scope, 1));
      expect(model.calls()).toBe(1);
      expect(res.result).toMatchObject({ tier: 'fallback', claims: extractFacts(String(acme(1).text)).claims.length });
      const [entry] = await logEntries(t, scope, ['context_doc']);
      expect(entry!.payload).toMatchObject({ extraction_tier: 'fallback', fallback_reason: reason });
      expect((await queryNodes(t.guarded, scope, { kinds: ['goal'] })).some((g) => g.metric === 'count:engineer')).toBe(true);
    }
  });
});
