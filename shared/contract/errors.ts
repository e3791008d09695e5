// Error classification (V9). Permanent: retrying cannot help (bad input, policy
// denial) — dead-letter at once with the reason. Transient: worth retrying, and
// of one of three kinds, which decide how long the bridge keeps trying:
//   contention  another run got there first (a lost compare-and-swap `*_conflict`,
//               a claim held by another run `in_progress`, a serialization failure):
//               the message is fine and will go through; retried without limit;
//   outage      a dependency is down (connection refused, an open breaker,
//               `*_unavailable`): retried for BRIDGE_OUTAGE_BUDGET_MS (hours);
//   failure     anything else (a timeout, an unclassified error): retried for
//               BRIDGE_RETRY_BUDGET_MS (minutes), then dead-lettered.
export type ErrorClass = 'permanent' | 'transient';
export type RetryKind = 'contention' | 'outage' | 'failure';
export const RETRY_KINDS = ['contention', 'outage', 'failure'] as const;

export class StepError extends Error {
  constructor(
    readonly errorClass: ErrorClass,
    readonly code: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = errorClass === 'permanent' ? 'PermanentError' : 'TransientError';
  }
  /** For a transient error: which retry budget it spends (see the top of this file). */
  get retryKind(): RetryKind | undefined {
    return undefined;
  }
  toJSON() {
    return { class: this.errorClass, code: this.code, message: this.message, ...(this.retryKind ? { kind: this.retryKind } : {}) };
  }
}

export class PermanentError extends StepError {
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super('permanent', code, message, options);
  }
}

export class TransientError extends StepError {
  readonly #kind: RetryKind;
  /** Not before this many ms (a receiver's Retry-After): the bridge waits at least this long before the next delivery. */
  readonly retryAfterMs: number | undefined;
  /** `kind` defaults to what the code says (retryKindOf). */
  constructor(code: string, message: string, options?: { cause?: unknown; kind?: RetryKind; retryAfterMs?: number }) {
    super('transient', code, message, options);
    this.#kind = options?.kind ?? retryKindOf(code);
    this.retryAfterMs = options?.retryAfterMs;
  }
  override get retryKind(): RetryKind {
    return this.#kind;
  }
}

const TRANSIENT_CODES = new Set([
  'ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EAI_AGAIN', 'ENOTFOUND', 'EHOSTUNREACH', 'ENETUNREACH',
  'UND_ERR_SOCKET', 'UND_ERR_CONNECT_TIMEOUT',
  // Postgres SQLSTATEs worth retrying: connection failures, shutdown, serialization, deadlock, lock/statement timeout.
  '08000', '08001', '08003', '08004', '08006', '57P01', '57P02', '57P03', '40001', '40P01', '55P03', '57014', '53300',
]);

/** Codes that mean a dependency could not be reached or refused to work: an outage. */
const OUTAGE_CODES = new Set([
  'ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EAI_AGAIN', 'ENOTFOUND', 'EHOSTUNREACH', 'ENETUNREACH',
  'UND_ERR_SOCKET', 'UND_ERR_CONNECT_TIMEOUT',
  '08000', '08001', '08003', '08004', '08006', '57P01', '57P02', '57P03', '53300',
  'breaker_open', 'connection', 'unauthorized',
]);
/** Codes that mean another run won a race on the same data. */
// `cancelled`: the bridge stopped waiting (a shutdown), which says nothing about the message.
const CONTENTION_CODES = new Set(['cancelled', 'in_progress', 'claim_lost', 'inbox_contention', '40001', '40P01', '55P03']);

/**
 * The retry kind a transient error code stands for: `*_conflict`, `*_race` and
 * the codes above are contention; `*_unavailable`, `publish_*` (NATS would not take
 * the emitted messages), `http_5xx`/`http_429` and connection failures are
 * outages; the rest are failures.
 */
export function retryKindOf(code: string): RetryKind {
  if (CONTENTION_CODES.has(code) || code.endsWith('_conflict') || code.endsWith('_race')) return 'contention';
  if (OUTAGE_CODES.has(code) || code.endsWith('_unavailable') || code.startsWith('publish_') || /^http_(5\d\d|429)$/.test(code)) return 'outage';
  return 'failure';
}

/** Classify anything thrown into a StepError. Unknown errors count as transient. */
export function classify(err: unknown): StepError {
  if (err instanceof StepError) return err;
  const e = err as { code?: unknown; name?: unknown; message?: unknown; error?: unknown; cause?: unknown; $metadata?: { httpStatusCode?: number } };
  // A WebSocket ErrorEvent (the Postgres driver's socket) or a wrapping error carries the system error inside.
  const inner = (e?.error ?? e?.cause) as { code?: unknown } | undefined;
  const code = typeof e?.code === 'string' ? e.code : typeof inner?.code === 'string' ? inner.code : undefined;
  const message = typeof e?.message === 'string' ? e.message : String(err);
  if (code && TRANSIENT_CODES.has(code)) return new TransientError(code, message, { cause: err });
  // cockatiel's BrokenCircuitError marks itself with a flag rather than a name.
  if ((err as { isBrokenCircuitError?: boolean })?.isBrokenCircuitError) return new TransientError('breaker_open', message, { cause: err });
  if (e?.name === 'TaskCancelledError' || e?.name === 'TimeoutError' || e?.name === 'AbortError') {
    return new TransientError('timeout', message, { cause: err });
  }
  if (e?.name === 'ZodError') return new PermanentError('invalid_input', message, { cause: err });
  const status = e?.$metadata?.httpStatusCode;
  if (typeof status === 'number' && status >= 400 && status < 500 && status !== 408 && status !== 429) {
    return new PermanentError(`http_${status}`, message, { cause: err });
  }
  // A service answering 5xx or 429 (S3's SlowDown, InternalError) is down or overloaded.
  if (typeof status === 'number' && (status >= 500 || status === 429)) return new TransientError(`http_${status}`, message, { cause: err });
  // Postgres data/constraint errors (class 22, 23, 42) will fail the same way again.
  if (code && /^(22|23|42)/.test(code)) return new PermanentError(`pg_${code}`, message, { cause: err });
  if (/connection terminated|timeout|socket hang up|fetch failed|websocket/i.test(message)) {
    return new TransientError('connection', message, { cause: err });
  }
  return new TransientError('unclassified', message, { cause: err });
}
