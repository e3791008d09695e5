// Retry with backoff (V1) and circuit breakers (V4) from cockatiel, around every
// call to Postgres, S3, OpenFGA, the facts-worker and the LLM. Breakers are named,
// registered once with their settings (BREAKERS for the production ones) and listed
// by breakerStates for the health endpoints and metrics.
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

/** What a breaker is, and how the calls through it are retried. */
export interface BreakerSettings {
  /** Consecutive failures that open the breaker. */
  threshold: number;
  /** How long the breaker stays open before one probe call. */
  halfOpenAfterMs: number;
  /** Which failures count against the breaker and are retried. */
  handles: (err: unknown) => boolean;
  /** Attempts in total (1 = no retry). */
  maxAttempts: number;
  initialDelayMs: number;
  maxDelayMs: number;
}

/** Some settings, over a production breaker's (a test's own breaker). */
export type ResilienceOptions = Partial<BreakerSettings>;

const OPENFGA: BreakerSettings = { threshold: 5, halfOpenAfterMs: 5_000, handles: isTransient, maxAttempts: 2, initialDelayMs: 50, maxDelayMs: 200 };

/**
 * The production breakers, one per dependency, and their settings: the adapters read
 * theirs from here by name. `llm:<role>` (a role with its own model) takes llm's.
 */
export const BREAKERS = {
  // A constraint violation or a bug in a query says nothing about the server (dependencyFailure).
  postgres: { threshold: 5, halfOpenAfterMs: 2_000, handles: dependencyFailure, maxAttempts: 3, initialDelayMs: 50, maxDelayMs: 1_000 },
  s3: { threshold: 5, halfOpenAfterMs: 10_000, handles: dependencyFailure, maxAttempts: 3, initialDelayMs: 100, maxDelayMs: 2_000 },
  // Checks, and tuple writes (createAuthzAdmin) on a breaker of their own with the same settings.
  openfga: OPENFGA,
  'openfga-write': OPENFGA,
  'facts-worker': { threshold: 5, halfOpenAfterMs: 10_000, handles: isTransient, maxAttempts: 3, initialDelayMs: 200, maxDelayMs: 2_000 },
  // Not retried in place (withLlm falls back instead); 60 s before a slow provider is tried again.
  llm: { threshold: 3, halfOpenAfterMs: 60_000, handles: isTransient, maxAttempts: 1, initialDelayMs: 0, maxDelayMs: 0 },
} as const satisfies Record<string, BreakerSettings>;

export type BreakerName = keyof typeof BREAKERS;

/** The production settings of `name` (llm:<role> takes llm's), or undefined for another name. */
export function productionSettings(name: string): BreakerSettings | undefined {
  if (Object.hasOwn(BREAKERS, name)) return BREAKERS[name as BreakerName];
  return name.startsWith('llm:') ? BREAKERS.llm : undefined;
}

/** Production breaker `base`'s settings with some replaced (undefined ones are not). */
export function settingsLike(base: BreakerName, overrides: ResilienceOptions = {}): BreakerSettings {
  const defined = Object.fromEntries(Object.entries(overrides).filter(([, v]) => v !== undefined));
  return { ...BREAKERS[base], ...defined };
}

interface Registered {
  settings: BreakerSettings;
  breaker: CircuitBreakerPolicy;
}

const breakers = new Map<string, Registered>();

const KEYS = ['threshold', 'halfOpenAfterMs', 'handles', 'maxAttempts', 'initialDelayMs', 'maxDelayMs'] as const;

/** Current state of every named breaker: closed | open | half-open | isolated. */
export function breakerStates(): Record<string, string> {
  const name = (s: CircuitState) =>
    ({ [CircuitState.Closed]: 'closed', [CircuitState.Open]: 'open', [CircuitState.HalfOpen]: 'half-open', [CircuitState.Isolated]: 'isolated' })[s];
  return Object.fromEntries([...breakers].map(([k, r]) => [k, name(r.breaker.state)]));
}

/**
 * Register breaker `name` with `settings`, once. Registering it again with the same
 * settings returns the same breaker; with other settings it throws: two callers that
 * disagree about one breaker would otherwise get whichever came first.
 */
export function registerBreaker(name: string, settings: BreakerSettings): CircuitBreakerPolicy {
  const known = breakers.get(name);
  if (known) {
    const differ = KEYS.filter((k) => known.settings[k] !== settings[k]);
    if (differ.length) throw new Error(`breaker "${name}" is already registered with other settings (${differ.join(', ')})`);
    return known.breaker;
  }
  for (const k of KEYS) {
    if (settings[k] === undefined) throw new TypeError(`breaker "${name}": ${k} is not set`);
  }
  // Only the failures `handles` accepts count: a bad request says nothing about the dependency's health.
  const breaker = circuitBreaker(handleWhen(settings.handles), {
    halfOpenAfter: settings.halfOpenAfterMs,
    breaker: new ConsecutiveBreaker(settings.threshold),
  });
  breakers.set(name, { settings: { ...settings }, breaker });
  return breaker;
}

/** The breaker registered under `name`; a production one is registered from BREAKERS on first use. */
export function namedBreaker(name: string): CircuitBreakerPolicy {
  return registered(name).breaker;
}

function registered(name: string): Registered {
  const known = breakers.get(name);
  if (known) return known;
  const production = productionSettings(name);
  if (!production) throw new Error(`no breaker "${name}": not a production breaker (BREAKERS) and not registered`);
  registerBreaker(name, production);
  return breakers.get(name)!;
}

/**
 * Retry transient failures with exponential backoff, inside breaker `name`: when the
 * breaker is open calls fail at once with BrokenCircuitError (classified transient).
 * With `settings`, the breaker is registered with them first (registerBreaker).
 */
export function resilientPolicy(name: string, settings?: BreakerSettings): IPolicy {
  if (settings) registerBreaker(name, settings);
  const { settings: s, breaker } = registered(name);
  const r = retry(handleWhen(s.handles), {
    maxAttempts: Math.max(0, s.maxAttempts - 1),
    backoff: new ExponentialBackoff({ initialDelay: s.initialDelayMs, maxDelay: s.maxDelayMs }),
  });
  return wrap(r, breaker);
}

/** Test helper: forget every breaker. */
export function resetBreakers(): void {
  breakers.clear();
}
