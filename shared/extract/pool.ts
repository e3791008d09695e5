// The offline extractor off the event loop: a piscina pool of worker threads, and a
// hard deadline per document — a worker that runs longer is terminated (piscina stops
// the thread of an aborted task), so no document can freeze the bridge or the API.
//
// The worker is ./worker.ts. Under tsx (bridge, API, demo) and vitest it is loaded as
// TypeScript with tsx's loader (`--import <tsx>` in the worker's execArgv). A bundled
// deployment (Lambda, infra/sst) has no .ts files: the worker is bundled on its own
// (`npm run build:extract-worker` → dist/extract-worker.mjs, copied next to the
// handler, e.g. copyFiles [{ from: 'dist/extract-worker.mjs', to: 'extract-worker.mjs' }]
// with EXTRACT_WORKER_FILE=/var/task/extract-worker.mjs). Without a worker file the
// extractor runs in-process (extractOffline): on Lambda one invocation owns the
// process, so there is no event loop to protect and the function's timeout bounds it.
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Piscina } from 'piscina';
import { PermanentError } from '../contract/errors.ts';
import { extractFacts, type DocumentFacts } from './extract.ts';
import type { ExtractLimits } from './limits.ts';
import type { ExtractTask } from './worker.ts';

export interface PoolOptions {
  /** Threads (documents extracted at once). */
  workers: number;
  /** Longest an extraction may run (queue time not counted). */
  timeoutMs: number;
  /** A bundled worker (.mjs/.js); empty = ./worker.ts through tsx. */
  workerFile?: string;
}

let pool: { piscina: Piscina; key: string } | undefined;

const sourceWorker = () => new URL('./worker.ts', import.meta.url);

/** Is there a worker to run? (A bundle without EXTRACT_WORKER_FILE has none.) */
export function workerAvailable(workerFile: string | undefined): boolean {
  return workerFile ? existsSync(workerFile) : import.meta.url.startsWith('file:') && existsSync(fileURLToPath(sourceWorker()));
}

function workerSpec(workerFile: string | undefined): { filename: string; execArgv: string[] } {
  if (workerFile) return { filename: pathToFileURL(workerFile).href, execArgv: [] };
  const ts = sourceWorker();
  // tsx's ESM loader, by absolute URL so that it resolves from any working directory.
  const tsx = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
  return { filename: ts.href, execArgv: ['--import', tsx] };
}

function poolFor(o: PoolOptions): Piscina {
  const key = `${o.workers}|${o.workerFile ?? ''}`;
  if (pool?.key === key) return pool.piscina;
  void pool?.piscina.destroy();
  const spec = workerSpec(o.workerFile);
  // Threads start on demand and stop when idle: a process that never falls back to
  // the offline extractor never pays for one (each thread loads wink-nlp's model).
  const piscina = new Piscina({ ...spec, minThreads: 0, maxThreads: o.workers, idleTimeout: 60_000, concurrentTasksPerWorker: 1 });
  pool = { piscina, key };
  return piscina;
}

/**
 * Extract a document in a worker thread. Rejects with a permanent `extraction_timeout`
 * when the extraction itself runs longer than `timeoutMs` (the worker is terminated:
 * the extractor is deterministic, so a retry would do the same), and with the
 * signal's reason when the caller gives up (the step's own deadline).
 */
export async function extractInWorker(text: string, limits: ExtractLimits, o: PoolOptions & { signal?: AbortSignal }): Promise<DocumentFacts> {
  const piscina = poolFor(o);
  const started = new SharedArrayBuffer(4);
  const epoch = Date.now();
  const task: ExtractTask = { text, limits, started, epoch };
  const abort = new AbortController();
  let timedOut = false;
  let timer: NodeJS.Timeout | undefined;
  // Check at the deadline whether the task has run for timeoutMs; while it waits in the queue, look again later.
  const arm = (ms: number) => {
    timer = setTimeout(() => {
      const at = Atomics.load(new Int32Array(started), 0);
      if (at === 0) return arm(o.timeoutMs);
      const left = epoch + at - 1 + o.timeoutMs - Date.now();
      if (left > 0) return arm(left);
      timedOut = true;
      abort.abort();
    }, ms);
  };
  arm(o.timeoutMs);
  const onCancel = () => abort.abort();
  if (o.signal?.aborted) onCancel();
  else o.signal?.addEventListener('abort', onCancel, { once: true });
  try {
    return (await piscina.run(task, { signal: abort.signal })) as DocumentFacts;
  } catch (err) {
    if (timedOut) {
      throw new PermanentError('extraction_timeout', `the offline extraction ran longer than ${o.timeoutMs} ms (EXTRACT_TIMEOUT_MS) and was stopped`, { cause: err });
    }
    if (o.signal?.aborted) throw o.signal.reason ?? err;
    throw err;
  } finally {
    clearTimeout(timer);
    o.signal?.removeEventListener('abort', onCancel);
  }
}

/**
 * The offline extraction as the facts step runs it: in the worker pool when there is
 * one (workers > 0 and a worker file), else on this thread (pure extractFacts).
 */
export async function extractOffline(text: string, limits: ExtractLimits, o: PoolOptions & { signal?: AbortSignal }): Promise<DocumentFacts> {
  if (o.workers > 0 && workerAvailable(o.workerFile)) return extractInWorker(text, limits, o);
  return extractFacts(text, limits);
}

/** Stop the pool's threads (tests, shutdown). */
export async function closeExtractPool(): Promise<void> {
  const p = pool;
  pool = undefined;
  await p?.piscina.destroy();
}
