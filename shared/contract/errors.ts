// Error classification (V9). Permanent: retrying cannot help (bad input, policy
// denial) — dead-letter at once with the reason. Transient: timeouts, lost
// connections, an open breaker — retry with backoff until the delivery budget runs out.
export type ErrorClass = 'permanent' | 'transient';

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
  toJSON() {
    return { class: this.errorClass, code: this.code, message: this.message };
  }
}

export class PermanentError extends StepError {
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super('permanent', code, message, options);
  }
}

export class TransientError extends StepError {
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super('transient', code, message, options);
  }
}

const TRANSIENT_CODES = new Set([
  'ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EAI_AGAIN', 'ENOTFOUND', 'EHOSTUNREACH', 'ENETUNREACH',
  'UND_ERR_SOCKET', 'UND_ERR_CONNECT_TIMEOUT',
  // Postgres SQLSTATEs worth retrying: connection failures, shutdown, serialization, deadlock, lock/statement timeout.
  '08000', '08001', '08003', '08004', '08006', '57P01', '57P02', '57P03', '40001', '40P01', '55P03', '57014', '53300',
]);

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
  // Postgres data/constraint errors (class 22, 23, 42) will fail the same way again.
  if (code && /^(22|23|42)/.test(code)) return new PermanentError(`pg_${code}`, message, { cause: err });
  if (/connection terminated|timeout|socket hang up|fetch failed|websocket/i.test(message)) {
    return new TransientError('connection', message, { cause: err });
  }
  return new TransientError('unclassified', message, { cause: err });
}
