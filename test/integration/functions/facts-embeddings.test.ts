// The facts step with the real facts-worker (all-MiniLM-L6-v2): a claim restated in
// another document is matched to the node the graph already has — a figure by the
// embedding of its subject phrase (with its unit and period), a claim without a figure
// by the embedding of the sentence (cosine ≥ SAME_CLAIM_MIN_COSINE) — while a
// different value or an unrelated claim stays a node of its own. With the worker
// unreachable, claims are stored without a vector (and embedded by a later run) and
// figures are still compared, by the words of their subjects. The phrase and sentence
// pairs are checked against the real model first: if the model scored them otherwise,
// the test says so instead of passing for the wrong reason.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { step as facts } from '../../../functions/facts/index.ts';
import { createEmbeddingsClient } from '../../../shared/adapters/embeddings.ts';
import { queryEdges, queryNodes, type GraphNode } from '../../../shared/store/graph.ts';
import { SAME_FIGURE_MIN } from '../../../shared/extract/compare.ts';
import { SAME_CLAIM_MIN_COSINE } from '../../../shared/domain/similarity.ts';
import { freePort } from '../core/private-openfga.ts';
import { emitted, envelope, run, swarmTestEnv, type SwarmTestEnv } from '../../support/swarm.ts';

let t: SwarmTestEnv;
beforeAll(async () => {
  t = await swarmTestEnv();
});
afterAll(async () => t?.close());

const submit = (scope: string, docId: string, text: string) =>
  envelope('doc.submitted', scope, { doc_id: docId, title: docId, text: `${docId.toUpperCase()}\n\n${text}`, submitted_by: 'test' });

// A figure restated in other words (README: 0.772), the same figure with another value (0.918).
const HIRE = 'We will hire 20 engineers in Q4.';
const HIRE_RESTATED = 'The company plans to hire approximately 20 engineers in the fourth quarter.';
const HIRE_OTHER = 'We will hire 35 engineers in Q4.';
// Claims without a figure: two restatements, a related claim saying something else, an unrelated one.
const BUDGET = 'The board approved the budget for the expansion.';
const BUDGET_RESTATED = 'The board has approved the expansion budget.';
const BUDGET_OTHER = 'The board rejected the budget for the expansion.';
const DELAY = 'The Nexus rollout in APAC is delayed by localisation work.';
const DELAY_RESTATED = 'Localisation work is delaying the APAC rollout of Nexus.';
const CHURN = 'Customer churn fell in the enterprise segment.';

const claim = (nodes: GraphNode[], content: string) => {
  const n = nodes.find((x) => x.kind === 'claim' && x.content === content);
  if (!n) expect.fail(`no claim node "${content}" among ${nodes.filter((x) => x.kind === 'claim').map((x) => x.content).join(' | ')}`);
  return n;
};

describe('facts + facts-worker: restated claims become one node', () => {
  it('the real model scores the sentence pairs as the thresholds in domain/similarity.ts assume', async () => {
    const worker = createEmbeddingsClient({ baseUrl: t.env.FACTS_WORKER_URL, dim: t.env.EMBEDDING_DIM, breakerName: 'facts-worker-probe' });
    const { scores } = await worker.similar([HIRE, BUDGET, DELAY], [HIRE_RESTATED, HIRE_OTHER, BUDGET_RESTATED, BUDGET_OTHER, DELAY_RESTATED, CHURN]);
    const [hire, budget, delay] = scores as [number[], number[], number[]];
    expect(hire[0]).toBeLessThan(SAME_CLAIM_MIN_COSINE); // a restated figure is too far apart as a sentence...
    expect(hire[1]).toBeGreaterThan(hire[0]!); // ...and another value scores higher than the restatement: sentences cannot decide figures
    expect(budget[2]).toBeGreaterThanOrEqual(SAME_CLAIM_MIN_COSINE);
    expect(delay[4]).toBeGreaterThanOrEqual(SAME_CLAIM_MIN_COSINE);
    expect(budget[3]).toBeLessThan(SAME_CLAIM_MIN_COSINE); // related, but a different fact
    for (const s of [hire[5], budget[5], delay[5]]) expect(s).toBeLessThan(0.45); // unrelated

    // Subject phrases decide figures: the same figure named differently is above its kind's threshold, another figure below.
    const same = await worker.similar(['annual recurring revenue', 'runway', 'completion', 'annual generation'], ['annual recurring revenue', 'cash runway', 'revised completion date', 'annual energy yield']);
    expect(same.scores.map((row, i) => row[i]!)).toEqual([
      expect.toSatisfy((x: number) => x >= SAME_FIGURE_MIN.money!),
      expect.toSatisfy((x: number) => x >= SAME_FIGURE_MIN.measure!),
      expect.toSatisfy((x: number) => x >= SAME_FIGURE_MIN.date!),
      expect.toSatisfy((x: number) => x >= SAME_FIGURE_MIN.measure!),
    ]);
    const different = await worker.similar(['annual recurring revenue', 'total cost of the project', 'share of ARR from the largest customers'], ['contracts', 'approved budget', 'share of ARR with change of control termination']);
    expect(different.scores.map((row, i) => row[i]!)).toEqual([
      expect.toSatisfy((x: number) => x < SAME_FIGURE_MIN.money!),
      expect.toSatisfy((x: number) => x < SAME_FIGURE_MIN.money!),
      expect.toSatisfy((x: number) => x < SAME_FIGURE_MIN.percent!),
    ]);
  });

  it('figures matched by subject, unit and period; claims by sentence embedding; never by similarity alone', async () => {
    const scope = await t.scope('emb-');
    const a = await run(facts, t.deps, submit(scope, 'doc-a', `${HIRE} ${BUDGET} ${DELAY}`));
    expect(emitted(a, 'facts.extracted').payload).toMatchObject({ claims: 3, unembedded: 0 });
    const before = await queryNodes(t.guarded, scope, { kinds: ['claim'] });
    expect(before.every((n) => n.hasEmbedding)).toBe(true);

    const b = await run(facts, t.deps, submit(scope, 'doc-b', `${HIRE_RESTATED} ${BUDGET_RESTATED} ${DELAY_RESTATED} ${BUDGET_OTHER} ${CHURN} ${HIRE_OTHER}`));
    expect(emitted(b, 'facts.extracted').payload).toMatchObject({ unembedded: 0, contradictions_found: 1 });
    const nodes = await queryNodes(t.guarded, scope, { kinds: ['claim'] });

    // Restatements: the node of doc a, now sourced by both documents, with how it was matched.
    const hire = claim(nodes, HIRE);
    expect(hire.sourceRef).toEqual({ docs: ['doc-a', 'doc-b'] });
    expect(hire.metadata).toMatchObject({ 'restated_in_doc-b': 'embedding' });
    expect(hire.confidence).toBeGreaterThan(claim(before, HIRE).confidence); // corroborated
    for (const text of [BUDGET, DELAY]) {
      const n = claim(nodes, text);
      expect(n.sourceRef).toEqual({ docs: ['doc-a', 'doc-b'] });
      expect(n.metadata).toMatchObject({ 'restated_in_doc-b': 'embedding' });
    }
    for (const text of [HIRE_RESTATED, BUDGET_RESTATED, DELAY_RESTATED]) expect(nodes.some((n) => n.content === text)).toBe(false);

    // Not restatements: their own nodes, only from doc b.
    for (const text of [BUDGET_OTHER, CHURN, HIRE_OTHER]) expect(claim(nodes, text).sourceRef).toEqual({ docs: ['doc-b'] });
    expect(nodes).toHaveLength(6);
    // 35 vs 20 engineers in Q4 is a contradiction, not a duplicate.
    const [edge] = await queryEdges(t.guarded, scope, { kinds: ['contradicts'] });
    expect([edge!.sourceId, edge!.targetId].sort()).toEqual([hire.nodeId, claim(nodes, HIRE_OTHER).nodeId].sort());
  });

  it('worker unreachable: claims stored without a vector, embedded by a later run once it is back, then matched', async () => {
    const scope = await t.scope('emb-down-');
    const dead = t.depsWith({}, { FACTS_WORKER_URL: `http://127.0.0.1:${await freePort()}` });
    const down = await run(facts, dead, submit(scope, 'doc-c', `${BUDGET} ${CHURN}`));
    expect(emitted(down, 'facts.extracted').payload).toMatchObject({ claims: 2, unembedded: 2 });
    expect(down.result).toMatchObject({ unembedded: 2, embed_error: expect.stringMatching(/unreachable|ECONNREFUSED/) });
    const stored = await queryNodes(t.guarded, scope, { kinds: ['claim'] });
    expect(stored.map((n) => [n.content, n.hasEmbedding]).sort()).toEqual([[BUDGET, false], [CHURN, false]].sort());

    // The worker is back (the live URL): doc d's run embeds the waiting claims first, so its restatement finds them.
    const up = await run(facts, t.deps, submit(scope, 'doc-d', BUDGET_RESTATED));
    expect(emitted(up, 'facts.extracted').payload).toMatchObject({ claims: 1, unembedded: 0 });
    const nodes = await queryNodes(t.guarded, scope, { kinds: ['claim'] });
    expect(nodes.every((n) => n.hasEmbedding)).toBe(true);
    expect(nodes).toHaveLength(2);
    expect(claim(nodes, BUDGET)).toMatchObject({ sourceRef: { docs: ['doc-c', 'doc-d'] }, metadata: { 'restated_in_doc-d': 'embedding' } });
  });

  it('worker unreachable: figures are still compared by the words of their subjects', async () => {
    const scope = await t.scope('emb-lex-');
    const dead = t.depsWith({}, { FACTS_WORKER_URL: `http://127.0.0.1:${await freePort()}` });
    await run(facts, dead, submit(scope, 'doc-e', 'The total cost of the project is EUR 62 million. The plant has 4 traffic lanes.'));
    const f = await run(facts, dead, submit(scope, 'doc-f', 'The total cost of the project is now estimated at EUR 71 million. It adds 2 cycle lanes.'));
    expect(emitted(f, 'facts.extracted').payload).toMatchObject({ contradictions_found: 1, unembedded: 2 });
    const [edge, ...more] = await queryEdges(t.guarded, scope, { kinds: ['contradicts'] });
    expect(more).toEqual([]); // traffic lanes and cycle lanes are different things
    expect(edge!.metadata).toMatchObject({ metric: 'EUR', subject: 'total cost of project' });
  });
});
