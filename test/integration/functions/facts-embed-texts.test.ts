// The end-to-end bench embeds "what the facts step would embed" through
// shared/extract/embed-texts.ts, a copy of the list functions/facts/index.ts builds.
// This test runs the real facts step over a scenario (harbor) and then two documents,
// the first defining an acronym the second uses (HLU: not a common abbreviation, so
// only the scope's terms spell it out), records the texts the step sends to the
// facts-worker, and requires the helper to give the same list for every document — so
// a change to the step's list that is not made in the helper fails here.
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { step as facts } from '../../../functions/facts/index.ts';
import { createEmbeddingsClient, type EmbeddingsClient } from '../../../shared/adapters/embeddings.ts';
import { addTerms, textsToEmbed } from '../../../shared/extract/embed-texts.ts';
import { extractFacts } from '../../../shared/extract/extract.ts';
import { limitsFromEnv } from '../../../shared/extract/limits.ts';
import { envelope, rows, run, swarmTestEnv, type SwarmTestEnv } from '../../support/swarm.ts';

const HARBOR = join(import.meta.dirname, '../../../infra/demo/scenarios/harbor');

let t: SwarmTestEnv;
beforeAll(async () => {
  t = await swarmTestEnv();
});
afterAll(async () => t?.close());

describe('textsToEmbed', () => {
  it('gives the texts the facts step embeds, document after document in one scope', async () => {
    const real = createEmbeddingsClient({ baseUrl: t.env.FACTS_WORKER_URL, dim: t.env.EMBEDDING_DIM });
    const calls: string[][] = [];
    const recording: EmbeddingsClient = { ...real, enabled: real.enabled, embed: (texts, o) => (calls.push([...texts]), real.embed(texts, o)) };
    const deps = t.depsWith({ embeddings: recording });
    const scope = await t.scope('embed-texts-');
    const docs = readdirSync(HARBOR)
      .filter((f) => /^\d.*\.(txt|md)$/.test(f))
      .sort()
      .map((f) => [f, readFileSync(join(HARBOR, f), 'utf8')] as const);
    docs.push(
      ['hlu-1', 'Board memo\n\nThe Harbor Logistics Unit (HLU) reported revenue of $3.2M in Q2 2024.\n'],
      ['hlu-2', 'Follow-up\n\nHLU revenue was $4.1M in Q3 2024.\n'],
    );
    let terms: Record<string, string> = {};
    let termsUsed = 0;
    for (const [f, text] of docs) {
      calls.length = 0;
      await run(facts, deps, envelope('doc.submitted', scope, { doc_id: f, title: f, text, submitted_by: 'test' }));
      const x = extractFacts(text, limitsFromEnv(t.env));
      const want = textsToEmbed(x, { ...terms, ...x.acronyms });
      expect(want.length, f).toBeGreaterThan(0);
      // The first call is the document's own texts (a later one would embed claims stored earlier without a vector).
      expect(calls[0], f).toEqual(want);
      // The scope's earlier terms change this document's subjects (HLU spelled out).
      if (JSON.stringify(textsToEmbed(x, x.acronyms)) !== JSON.stringify(want)) termsUsed++;
      terms = addTerms(terms, x.acronyms);
    }
    // The scope's terms as the step stored them; a later document's list depended on them.
    const stored = await rows<{ term: string; expansion: string }>(t, 'SELECT term, expansion FROM scope_terms WHERE scope_id = $1', [scope]);
    expect(Object.fromEntries(stored.map((r) => [r.term, r.expansion]))).toEqual(terms);
    expect(terms.HLU).toBe('harbor logistics unit');
    expect(termsUsed).toBeGreaterThan(0);
  });
});
