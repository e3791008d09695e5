// Embeddings through HTTP from TypeScript, as the facts step sees them: the
// shared client (zod-validated) against the facts-worker started by services:up.
// Sentences per second and p50/p99 latency per batch at batch sizes 1, 16 and 64;
// baseline: the same client's round trip to /readyz (HTTP + JSON, no model).
import { createEmbeddingsClient } from '../../../shared/adapters/embeddings.ts';
import { loadEnv } from '../../../shared/config.ts';
import { latencyRows, timeCalls, type BenchRow, type BenchSuite } from '../harness.ts';

// Claim-like sentences of varied length (5 to 40 words), fixed so runs compare.
const SUBJECTS = ['The company', 'Management', 'The target', 'Our Frankfurt subsidiary', 'The board', 'The largest customer'];
const VERBS = ['expects', 'reported', 'plans', 'disclosed', 'confirmed', 'estimates'];
const OBJECTS = [
  'revenue of $2.1M for Q3',
  'to hire approximately 20 engineers in the fourth quarter',
  'a churn rate of 4.2% last month, driven by the enterprise segment',
  'that the data centre lease expires in 2027 with a renewal option',
  'gross margin improving by three points after the price change',
  'an outstanding claim of EUR 1.5 million from a former distributor',
];
const TAILS = ['', ' according to the board minutes', ' subject to regulatory approval and the usual closing conditions',
  ', although the auditors noted that the figure has not yet been reconciled with the bank statements of the period'];

function corpus(n: number): string[] {
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    out.push(`${SUBJECTS[i % 6]} ${VERBS[(i * 5) % 6]} ${OBJECTS[(i * 7) % 6]}${TAILS[(i * 3) % 4]} (#${i}).`);
  }
  return out;
}

const PLAN: { batch: number; calls: number }[] = [
  { batch: 1, calls: 200 },
  { batch: 16, calls: 40 },
  { batch: 64, calls: 12 },
];

export const suite: BenchSuite = {
  name: 'embeddings',
  description: 'facts-worker over HTTP from TS: sentences/s and p50/p99 per batch at batch 1/16/64; baseline /readyz round trip',
  async run(): Promise<BenchRow[]> {
    const env = loadEnv();
    const client = createEmbeddingsClient({ baseUrl: env.FACTS_WORKER_URL, dim: env.EMBEDDING_DIM, timeoutMs: 60_000 });
    const ready = await client.readiness();
    if (!ready.ready) throw new Error(`facts-worker at ${env.FACTS_WORKER_URL} is not ready (${ready.status}: ${ready.error ?? ''}); run npm run services:up`);
    const label = `${ready.runtime}/${ready.model}`;
    const rows: BenchRow[] = [];

    rows.push(...latencyRows('http/readyz (baseline)', await timeCalls(200, () => client.readiness(), 20)));

    const texts = corpus(PLAN.reduce((m, p) => Math.max(m, p.batch * p.calls), 0));
    for (const { batch, calls } of PLAN) {
      const samples = await timeCalls(
        calls,
        (i) => client.embed(texts.slice((i % calls) * batch, (i % calls) * batch + batch)),
        Math.min(5, calls),
      );
      const totalMs = samples.reduce((a, b) => a + b, 0);
      const name = `${label}/batch=${batch}`;
      rows.push({ case: name, metric: 'sentences/s', value: (batch * calls) / (totalMs / 1000), unit: 'sent/s' });
      rows.push(...latencyRows(name, samples));
    }
    return rows;
  },
};
