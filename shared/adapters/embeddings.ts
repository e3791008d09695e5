// Client for the facts-worker's embeddings API (facts-worker/, Python). The facts
// step embeds new claims in batches, stores the vectors in the semantic graph and
// matches restated claims with pgvector. Failures are classified: connection
// errors, timeouts and 5xx are transient (retried with backoff, counted by the
// `facts-worker` breaker) and the caller stores the claim without a vector, to be
// embedded later; 4xx and malformed answers are permanent (retrying cannot help).
import { z } from 'zod';
import { config } from '../config.ts';
import { PermanentError, StepError, TransientError, classify } from '../contract/errors.ts';
import { resilientPolicy, settingsLike, type BreakerName, type ResilienceOptions } from './resilience.ts';

export const FACTS_WORKER_BREAKER = 'facts-worker' satisfies BreakerName;

export interface EmbeddingsClientOptions {
  /** Worker base URL (FACTS_WORKER_URL); '' disables the client. */
  baseUrl: string;
  /** Expected vector width (EMBEDDING_DIM); a worker answering another width is a permanent error. */
  dim: number;
  /** Per HTTP attempt. */
  timeoutMs: number;
  /** Texts per request; larger inputs are split and sent one batch after another. */
  batchSize: number;
  /** With breakerName, a test's own breaker: the facts-worker settings but for these. */
  resilience: ResilienceOptions;
  breakerName: string;
  fetch: typeof fetch;
}

export interface Embeddings {
  /** Model that produced the vectors ('' when no text was given). */
  model: string;
  runtime: string;
  dim: number;
  /** One L2-normalised vector per input text, in input order. */
  vectors: number[][];
  /** Indices of texts cut at the model's token limit (embedded from their beginning only). */
  truncated: number[];
}

export interface SimilarMatch {
  index: number;
  score: number;
}

export interface SimilarResult {
  model: string;
  dim: number;
  /** scores[q][c] = cosine similarity of queries[q] and candidates[c]. */
  scores: number[][];
  /** Per query: candidates by descending score, filtered by threshold / topK. */
  matches: SimilarMatch[][];
}

export interface Readiness {
  ready: boolean;
  /** ready | loading | failed | unreachable */
  status: string;
  model?: string;
  runtime?: string;
  dim?: number;
  error?: string | null;
}

export interface EmbeddingsClient {
  readonly enabled: boolean;
  embed(texts: readonly string[], opts?: { signal?: AbortSignal }): Promise<Embeddings>;
  embedOne(text: string, opts?: { signal?: AbortSignal }): Promise<number[]>;
  similar(
    queries: readonly string[],
    candidates: readonly string[],
    opts?: { topK?: number; threshold?: number; signal?: AbortSignal },
  ): Promise<SimilarResult>;
  readiness(opts?: { signal?: AbortSignal }): Promise<Readiness>;
}

const embedResponse = z.object({
  model: z.string(),
  runtime: z.string(),
  dim: z.number().int().positive(),
  truncated: z.array(z.number().int().nonnegative()),
  vectors: z.array(z.array(z.number())),
});

const similarResponse = z.object({
  model: z.string(),
  dim: z.number().int().positive(),
  scores: z.array(z.array(z.number().min(-1).max(1))),
  matches: z.array(z.array(z.object({ index: z.number().int().nonnegative(), score: z.number() }))),
});

const readyResponse = z.object({
  status: z.string(),
  model: z.string().optional(),
  runtime: z.string().optional(),
  dim: z.number().int().optional(),
  error: z.string().nullable().optional(),
});

const errorBody = z.object({ error: z.string(), message: z.string() });

/** Worker/HTTP status → classified error. 408/429/5xx are transient, other 4xx permanent. */
function httpError(status: number, body: string, path: string): StepError {
  const parsed = (() => {
    try {
      return errorBody.safeParse(JSON.parse(body));
    } catch {
      return undefined;
    }
  })();
  const code = parsed?.success ? parsed.data.error : `http_${status}`;
  const message = `facts-worker ${path} answered ${status}: ${parsed?.success ? parsed.data.message : body.slice(0, 200)}`;
  return status >= 500 || status === 408 || status === 429
    ? new TransientError(code, message)
    : new PermanentError(code, message);
}

/** fetch failures → classified error; the interesting code (ECONNREFUSED...) hides in `cause`. */
function networkError(err: unknown, url: string, timeoutMs: number, timedOut: boolean): StepError {
  if (timedOut) return new TransientError('timeout', `facts-worker ${url} did not answer within ${timeoutMs} ms`, { cause: err });
  const cause = (err as { cause?: { code?: unknown; message?: unknown } })?.cause;
  if (cause && typeof cause.code === 'string') {
    const c = classify(cause);
    return new TransientError(c.code, `facts-worker ${url} unreachable: ${c.code} ${String(cause.message ?? '')}`.trim(), { cause: err });
  }
  return classify(err);
}

function invalid(path: string, what: string): PermanentError {
  return new PermanentError('invalid_response', `facts-worker ${path}: ${what}`);
}

export function createEmbeddingsClient(opts: Partial<EmbeddingsClientOptions> = {}): EmbeddingsClient {
  const baseUrl = (opts.baseUrl ?? config().FACTS_WORKER_URL).replace(/\/+$/, '');
  const dim = opts.dim ?? config().EMBEDDING_DIM;
  const timeoutMs = opts.timeoutMs ?? 15_000;
  const batchSize = opts.batchSize ?? 64;
  const doFetch = opts.fetch ?? fetch;
  // Every attempt goes through the named breaker (inside the retry), so a dead worker
  // opens it after `threshold` consecutive transient failures and later calls fail fast.
  const policy = resilientPolicy(opts.breakerName ?? FACTS_WORKER_BREAKER, settingsLike(FACTS_WORKER_BREAKER, opts.resilience));
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new RangeError(`batchSize must be a positive integer, got ${batchSize}`);

  /** One HTTP exchange: per-attempt timeout joined with the caller's/policy's signal. */
  async function send(method: 'GET' | 'POST', path: string, body: unknown, signal: AbortSignal): Promise<{ status: number; text: string }> {
    if (!baseUrl) throw new PermanentError('embeddings_disabled', 'FACTS_WORKER_URL is empty: embeddings are disabled');
    const timeout = AbortSignal.timeout(timeoutMs);
    const url = `${baseUrl}${path}`;
    try {
      const res = await doFetch(url, {
        method,
        headers: body === undefined ? undefined : { 'content-type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.any([signal, timeout]),
      });
      return { status: res.status, text: await res.text() };
    } catch (err) {
      throw networkError(err, url, timeoutMs, timeout.aborted && !signal.aborted);
    }
  }

  function json(path: string, status: number, text: string): unknown {
    try {
      return JSON.parse(text);
    } catch {
      throw invalid(path, `answered ${status} with a body that is not JSON: ${text.slice(0, 200)}`);
    }
  }

  async function request(path: string, body: unknown, signal: AbortSignal): Promise<unknown> {
    const { status, text } = await send('POST', path, body, signal);
    if (status < 200 || status >= 300) throw httpError(status, text, path);
    return json(path, status, text);
  }

  async function call<T>(path: string, body: unknown, signal: AbortSignal | undefined, parse: (raw: unknown) => T): Promise<T> {
    try {
      return await policy.execute(async (ctx) => parse(await request(path, body, ctx.signal)), signal);
    } catch (err) {
      throw classify(err); // BrokenCircuitError → transient 'breaker_open'; StepErrors unchanged
    }
  }

  function checkVectors(path: string, vectors: number[][], n: number, gotDim: number): void {
    if (gotDim !== dim) {
      throw new PermanentError(
        'dimension_mismatch',
        `facts-worker ${path} returns ${gotDim}-dimensional vectors but EMBEDDING_DIM=${dim}: configure both (and the vector column) alike`,
      );
    }
    if (vectors.length !== n) throw invalid(path, `asked for ${n} vectors, got ${vectors.length}`);
    for (const v of vectors) if (v.length !== dim) throw invalid(path, `a vector has ${v.length} components, not ${dim}`);
  }

  async function embed(texts: readonly string[], o: { signal?: AbortSignal } = {}): Promise<Embeddings> {
    const out: Embeddings = { model: '', runtime: '', dim, vectors: [], truncated: [] };
    for (let start = 0; start < texts.length; start += batchSize) {
      const batch = texts.slice(start, start + batchSize);
      const r = await call('/embed', { texts: batch }, o.signal, (raw) => {
        const p = embedResponse.safeParse(raw);
        if (!p.success) throw invalid('/embed', `unexpected response: ${p.error.message}`);
        checkVectors('/embed', p.data.vectors, batch.length, p.data.dim);
        return p.data;
      });
      out.model = r.model;
      out.runtime = r.runtime;
      out.vectors.push(...r.vectors);
      out.truncated.push(...r.truncated.map((i) => i + start));
    }
    return out;
  }

  return {
    enabled: baseUrl !== '',
    embed,
    async embedOne(text, o) {
      return (await embed([text], o)).vectors[0]!;
    },
    async similar(queries, candidates, o = {}) {
      const body: Record<string, unknown> = { queries, candidates };
      if (o.topK !== undefined) body.top_k = o.topK;
      if (o.threshold !== undefined) body.threshold = o.threshold;
      return call('/similar', body, o.signal, (raw) => {
        const p = similarResponse.safeParse(raw);
        if (!p.success) throw invalid('/similar', `unexpected response: ${p.error.message}`);
        if (p.data.dim !== dim) checkVectors('/similar', [], 0, p.data.dim);
        if (p.data.scores.length !== queries.length || p.data.scores.some((row) => row.length !== candidates.length)) {
          throw invalid('/similar', `score matrix is not ${queries.length} x ${candidates.length}`);
        }
        return p.data;
      });
    },
    async readiness(o = {}) {
      // One probe, no retry and no breaker: this reports state, it does not wait for it.
      let res: { status: number; text: string };
      try {
        res = await send('GET', '/readyz', undefined, o.signal ?? new AbortController().signal);
      } catch (err) {
        const e = classify(err);
        if (e instanceof TransientError) return { ready: false, status: 'unreachable', error: e.message };
        throw e;
      }
      if (res.status !== 200 && res.status !== 503) throw httpError(res.status, res.text, '/readyz');
      const p = readyResponse.safeParse(json('/readyz', res.status, res.text));
      if (!p.success) throw invalid('/readyz', `unexpected response: ${p.error.message}`);
      return { ...p.data, ready: res.status === 200 && p.data.status === 'ready' };
    },
  };
}

/** Cosine similarity of two vectors (for unit vectors, their dot product). */
export function cosine(a: readonly number[], b: readonly number[]): number {
  if (a.length !== b.length) throw new RangeError(`vectors differ in length: ${a.length} vs ${b.length}`);
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length; i++) {
    dot += a[i]! * b[i]!;
    na += a[i]! * a[i]!;
    nb += b[i]! * b[i]!;
  }
  return na === 0 || nb === 0 ? 0 : dot / Math.sqrt(na * nb);
}
