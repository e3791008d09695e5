// Retry with backoff (V1) and circuit breakers (V4) from cockatiel, around every
// call to Postgres, S3, OpenFGA, the facts-worker and the LLM. Breakers are named
// and registered so health endpoints can report them.
import {
  BrokenCircuitError,
  CircuitState,
  ConsecutiveBreaker,
  ExponentialBackoff,
  circuitBreaker,
  handleWhen,
  retry,
  wrap,
  type CircuitBreakerPolicy,
  type IPolicy,
} from 'cockatiel';
import { classify } from '../contract/errors.ts';

export { BrokenCircuitError, CircuitState };

export const isTransient = (err: unknown): boolean =>
  !(err instanceof BrokenCircuitError) && classify(err).errorClass === 'transient';

/**
 * Only failures that say something about the dependency count: connection loss,
 * timeouts, server shutdown, an HTTP 5xx. A bug in the caller's code or a
 * constraint violation must neither open a breaker nor be retried, nor make a
 * pooled connection be thrown away.
 */
export const dependencyFailure = (err: unknown): boolean => {
  const e = classify(err);
  return e.errorClass === 'transient' && e.code !== 'unclassified' && e.code !== 'breaker_open';
};

export interface ResilienceOptions {
  /** Consecutive failures that open the breaker. */
  threshold?: number;
  /** How long the breaker stays open before one probe call. */
  halfOpenAfterMs?: number;
  /** Attempts in total (1 = no retry). */
  maxAttempts?: number;
  initialDelayMs?: number;
  maxDelayMs?: number;
  /** Which failures count against the breaker and are retried (default: isTransient). */
  handles?: (err: unknown) => boolean;
}

const breakers = new Map<string, CircuitBreakerPolicy>();

/** Current state of every named breaker: closed | open | half-open | isolated. */
export function breakerStates(): Record<string, string> {
  const name = (s: CircuitState) =>
    ({ [CircuitState.Closed]: 'closed', [CircuitState.Open]: 'open', [CircuitState.HalfOpen]: 'half-open', [CircuitState.Isolated]: 'isolated' })[s];
  return Object.fromEntries([...breakers].map(([k, b]) => [k, name(b.state)]));
}

/** The breaker registered under `name` (created on first use). */
export function namedBreaker(name: string, opts: ResilienceOptions = {}): CircuitBreakerPolicy {
  let b = breakers.get(name);
  if (!b) {
    // Only transient failures count: a bad request says nothing about the dependency's health.
    b = circuitBreaker(handleWhen(opts.handles ?? isTransient), {
      halfOpenAfter: opts.halfOpenAfterMs ?? 10_000,
      breaker: new ConsecutiveBreaker(opts.threshold ?? 5),
    });
    breakers.set(name, b);
  }
  return b;
}

/**
 * Retry transient failures with exponential backoff, inside a breaker: when the
 * breaker is open calls fail at once with BrokenCircuitError (classified transient).
 */
export function resilientPolicy(name: string, opts: ResilienceOptions = {}): IPolicy {
  const r = retry(handleWhen(opts.handles ?? isTransient), {
    maxAttempts: Math.max(0, (opts.maxAttempts ?? 3) - 1),
    backoff: new ExponentialBackoff({ initialDelay: opts.initialDelayMs ?? 100, maxDelay: opts.maxDelayMs ?? 2_000 }),
  });
  return wrap(r, namedBreaker(name, opts));
}

/** Test helper: forget every breaker. */
export function resetBreakers(): void {
  breakers.clear();
}
