// The embeddings client against the real facts-worker (started by services:up),
// and its failure paths against a dead port and small local misbehaving servers.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { FACTS_WORKER_BREAKER, cosine, createEmbeddingsClient } from '../../shared/adapters/embeddings.ts';
import { SAME_FACT_MIN_COSINE, UNRELATED_MAX_COSINE } from '../../shared/domain/similarity.ts';
import { breakerStates, resetBreakers } from '../../shared/adapters/resilience.ts';
import { loadEnv } from '../../shared/config.ts';
import { PermanentError, TransientError } from '../../shared/contract/errors.ts';

const env = loadEnv();
const WORKER = env.FACTS_WORKER_URL;
const fast = { initialDelayMs: 10, maxDelayMs: 50 };

/** fetch that counts calls, to see retries (or their absence). */
function countingFetch() {
  const calls: string[] = [];
  const f: typeof fetch = (input, init) => {
    calls.push(String(input));
    return fetch(input, init);
  };
  return { calls, fetch: f };
}

async function listen(handler: Parameters<typeof createServer>[1]): Promise<{ server: Server; url: string }> {
  const server = createServer(handler);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

async function deadPort(): Promise<string> {
  const { server, url } = await listen(() => {});
  await new Promise((r) => server.close(r));
  return url; // nothing listens here any more: ECONNREFUSED
}

beforeEach(() => resetBreakers());

describe('against the real worker', () => {
  const client = createEmbeddingsClient({ baseUrl: WORKER, dim: env.EMBEDDING_DIM });

  it('is ready and names model, runtime and dimension', async () => {
    const r = await client.readiness();
    expect(r).toMatchObject({ ready: true, status: 'ready', model: 'all-MiniLM-L6-v2', runtime: 'onnxruntime', dim: env.EMBEDDING_DIM });
  });

  it('embeds a batch into unit vectors; restated claims score above the threshold, unrelated ones below', async () => {
    const texts = [
      'We will hire 20 engineers in Q4',
      'The company plans to hire approximately 20 engineers in the fourth quarter',
      'Revenue for Q3 was $2.1M',
    ];
    const r = await client.embed(texts);
    expect(r.model).toBe('all-MiniLM-L6-v2');
    expect(r.vectors).toHaveLength(3);
    for (const v of r.vectors) {
      expect(v).toHaveLength(env.EMBEDDING_DIM);
      expect(Math.hypot(...v)).toBeCloseTo(1, 5);
    }
    const [claim, restated, unrelated] = r.vectors as [number[], number[], number[]];
    expect(cosine(claim, restated)).toBeGreaterThanOrEqual(SAME_FACT_MIN_COSINE);
    expect(cosine(claim, unrelated)).toBeLessThanOrEqual(UNRELATED_MAX_COSINE);
    expect(cosine(restated, unrelated)).toBeLessThanOrEqual(UNRELATED_MAX_COSINE);
  });

  it('splits large inputs into batches and returns the same vectors as one request', async () => {
    const counting = countingFetch();
    const small = createEmbeddingsClient({ baseUrl: WORKER, dim: env.EMBEDDING_DIM, batchSize: 2, fetch: counting.fetch });
    const texts = ['alpha claim', 'beta claim', 'gamma claim', 'delta claim', Array(600).fill('word').join(' ')];
    const batched = await small.embed(texts);
    expect(counting.calls).toHaveLength(3);
    const whole = await client.embed(texts);
    expect(batched.vectors).toHaveLength(5);
    batched.vectors.forEach((v, i) => v.forEach((x, j) => expect(x).toBeCloseTo(whole.vectors[i]![j]!, 5)));
    // The 600-word text is cut at the model's 256 tokens; its index is reported across batches.
    expect(batched.truncated).toEqual([4]);
    expect(whole.truncated).toEqual([4]);
  });

  it('returns nothing for no texts without calling the worker', async () => {
    const counting = countingFetch();
    const c = createEmbeddingsClient({ baseUrl: WORKER, dim: env.EMBEDDING_DIM, fetch: counting.fetch });
    expect((await c.embed([])).vectors).toEqual([]);
    expect(counting.calls).toHaveLength(0);
  });

  it('scores queries against candidates', async () => {
    const r = await client.similar(
      ['We will hire 20 engineers in Q4'],
      ['Revenue for Q3 was $2.1M', 'The company plans to hire approximately 20 engineers in the fourth quarter'],
      { threshold: SAME_FACT_MIN_COSINE },
    );
    expect(r.scores).toHaveLength(1);
    expect(r.scores[0]).toHaveLength(2);
    expect(r.matches[0]!.map((m) => m.index)).toEqual([1]);
  });

  it('classifies a rejected request (4xx) as permanent: no retry, breaker untouched', async () => {
    const counting = countingFetch();
    const c = createEmbeddingsClient({ baseUrl: WORKER, dim: env.EMBEDDING_DIM, fetch: counting.fetch, resilience: fast });
    const err = await c.embed(['fine', 'x'.repeat(100_000)]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PermanentError);
    expect(err).toMatchObject({ code: 'text_too_long' });
    expect((err as Error).message).toMatch(/texts\[1\] has 100000 characters; the limit is \d+/);
    expect(counting.calls).toHaveLength(1);
    expect(breakerStates()[FACTS_WORKER_BREAKER]).toBe('closed');
  });

  it('rejects a vector width other than EMBEDDING_DIM as permanent', async () => {
    const c = createEmbeddingsClient({ baseUrl: WORKER, dim: 512, resilience: fast });
    await expect(c.embed(['x'])).rejects.toMatchObject({ errorClass: 'permanent', code: 'dimension_mismatch' });
  });
});

describe('failure paths', () => {
  it('retries a refused connection with backoff, then opens the facts-worker breaker and fails fast', async () => {
    const url = await deadPort();
    const counting = countingFetch();
    const c = createEmbeddingsClient({
      baseUrl: url, dim: 384, fetch: counting.fetch, resilience: { ...fast, maxAttempts: 3, threshold: 4, halfOpenAfterMs: 60_000 },
    });
    const first = await c.embed(['lost?']).catch((e: unknown) => e);
    expect(first).toBeInstanceOf(TransientError);
    expect(first).toMatchObject({ code: 'ECONNREFUSED' });
    expect(counting.calls).toHaveLength(3); // three attempts
    expect(breakerStates()[FACTS_WORKER_BREAKER]).toBe('closed'); // 3 failures < threshold 4

    const second = await c.embed(['lost?']).catch((e: unknown) => e);
    expect(second).toBeInstanceOf(TransientError);
    expect(counting.calls).toHaveLength(4); // the 4th consecutive failure opened it; no retry into an open breaker
    expect(breakerStates()[FACTS_WORKER_BREAKER]).toBe('open');

    const third = await c.embed(['lost?']).catch((e: unknown) => e);
    expect(third).toMatchObject({ errorClass: 'transient', code: 'breaker_open' });
    expect(counting.calls).toHaveLength(4); // failed fast, no request
  });

  it('reports an unreachable worker as not ready', async () => {
    const r = await createEmbeddingsClient({ baseUrl: await deadPort(), dim: 384 }).readiness();
    expect(r).toMatchObject({ ready: false, status: 'unreachable' });
    expect(r.error).toMatch(/ECONNREFUSED/);
  });

  describe('misbehaving servers', () => {
    let hang: { server: Server; url: string };
    let flaky: { server: Server; url: string };
    let flakyHits = 0;
    let wrongDim: { server: Server; url: string };

    beforeAll(async () => {
      hang = await listen(() => {}); // accepts, never answers
      // 503 twice, then forwards to the real worker.
      flaky = await listen(async (req, res) => {
        flakyHits++;
        const chunks: Buffer[] = [];
        for await (const c of req) chunks.push(c as Buffer);
        if (flakyHits <= 2) {
          res.writeHead(503, { 'content-type': 'application/json' });
          res.end(JSON.stringify({ error: 'overloaded', message: 'busy' }));
          return;
        }
        const up = await fetch(`${WORKER}${req.url}`, { method: req.method, body: Buffer.concat(chunks), headers: { 'content-type': 'application/json' } });
        res.writeHead(up.status, { 'content-type': 'application/json' });
        res.end(await up.text());
      });
      wrongDim = await listen((_req, res) => {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ model: 'm', runtime: 'r', dim: 3, truncated: [], vectors: [[1, 0, 0]] }));
      });
    });
    afterAll(async () => {
      for (const s of [hang, flaky, wrongDim]) {
        s.server.closeAllConnections();
        await new Promise((r) => s.server.close(r));
      }
    });

    it('times out each attempt and classifies it transient', async () => {
      const counting = countingFetch();
      const c = createEmbeddingsClient({ baseUrl: hang.url, dim: 384, timeoutMs: 150, fetch: counting.fetch, resilience: { ...fast, maxAttempts: 2 } });
      const t0 = performance.now();
      const err = await c.embed(['slow']).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(TransientError);
      expect(err).toMatchObject({ code: 'timeout' });
      expect((err as Error).message).toMatch(/did not answer within 150 ms/);
      expect(counting.calls).toHaveLength(2);
      expect(performance.now() - t0).toBeLessThan(5_000);
    });

    it('retries 5xx and succeeds once the worker answers', async () => {
      const c = createEmbeddingsClient({ baseUrl: flaky.url, dim: env.EMBEDDING_DIM, resilience: { ...fast, maxAttempts: 3 } });
      const r = await c.embed(['third time lucky']);
      expect(flakyHits).toBe(3);
      expect(r.vectors[0]).toHaveLength(env.EMBEDDING_DIM);
      expect(breakerStates()[FACTS_WORKER_BREAKER]).toBe('closed'); // a success resets the count
    });

    it('classifies a malformed answer as permanent', async () => {
      const c = createEmbeddingsClient({ baseUrl: wrongDim.url, dim: 384, resilience: fast });
      await expect(c.embed(['x'])).rejects.toMatchObject({ errorClass: 'permanent', code: 'dimension_mismatch' });
    });
  });

  it('refuses to work when disabled (FACTS_WORKER_URL empty)', async () => {
    const c = createEmbeddingsClient({ baseUrl: '', dim: 384 });
    expect(c.enabled).toBe(false);
    await expect(c.embed(['x'])).rejects.toMatchObject({ errorClass: 'permanent', code: 'embeddings_disabled' });
  });
});
