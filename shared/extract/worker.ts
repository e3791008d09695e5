// The worker thread of the extraction pool (./pool.ts): one document in, its facts out.
// It first stamps when it started, so that the pool's deadline counts the time the
// extraction ran, not the time it waited in the queue.
import { extractFacts, type DocumentFacts } from './extract.ts';
import type { ExtractLimits } from './limits.ts';

export interface ExtractTask {
  text: string;
  limits: ExtractLimits;
  /** Int32Array(1) over shared memory: 1 + ms from `epoch` when the task started (0 = still queued). */
  started: SharedArrayBuffer;
  epoch: number;
}

export default function extract(task: ExtractTask): DocumentFacts {
  Atomics.store(new Int32Array(task.started), 0, 1 + Math.max(0, Date.now() - task.epoch));
  return extractFacts(task.text, task.limits);
}
