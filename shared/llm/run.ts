// Every LLM step goes through here: a per-step timeout, a circuit breaker (the shared
// `llm` one, or its role's when the role has its own model; 3 consecutive failures
// open it for 60 s), and a deterministic fallback. The outcome says which tier produced the value, for the audit trail.
import { recordLlmCall } from '../adapters/metrics.ts';
import { BrokenCircuitError, namedBreaker } from '../adapters/resilience.ts';
import type { LanguageModel } from './model.ts';
import { llmRoleOf, type LlmRole } from './roles.ts';

export const LLM_BREAKER = 'llm';
// Its settings (and its roles', llm:<role>) are BREAKERS.llm in shared/adapters/resilience.ts.
const breaker = (name: string) => namedBreaker(name);

export type Tier = 'llm' | 'fallback';

export interface LlmOutcome<T> {
  tier: Tier;
  value: T;
  /** Why the fallback decided: no_model | breaker_open | timeout | error: ... | no_decision */
  fallbackReason?: string;
}

export interface LlmStep<T> {
  step: string;
  model: LanguageModel | undefined;
  timeoutMs: number;
  /** The circuit breaker to go through (default the shared `llm` one; a role with its own model has its own). */
  breaker?: string;
  /** The LLM path. Return undefined when the model did not decide (no tool call). */
  run: (model: LanguageModel, signal: AbortSignal) => Promise<T | undefined>;
  fallback: () => T | Promise<T>;
}

export class LlmTimeoutError extends Error {
  override name = 'TimeoutError';
}

export async function withLlm<T>(s: LlmStep<T>): Promise<LlmOutcome<T>> {
  const out = await decide(s);
  recordLlmCall(llmRoleOf(s.step), out.tier, out.fallbackReason);
  return out;
}

async function decide<T>(s: LlmStep<T>): Promise<LlmOutcome<T>> {
  if (!s.model) return { tier: 'fallback', value: await s.fallback(), fallbackReason: 'no_model' };
  const model = s.model;
  try {
    const value = await breaker(s.breaker ?? LLM_BREAKER).execute(async () => {
      const ctl = new AbortController();
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => {
          ctl.abort();
          reject(new LlmTimeoutError(`${s.step}: no answer from the model within ${s.timeoutMs} ms`));
        }, s.timeoutMs);
      });
      try {
        return await Promise.race([s.run(model, ctl.signal), timeout]);
      } finally {
        clearTimeout(timer);
      }
    });
    if (value === undefined) return { tier: 'fallback', value: await s.fallback(), fallbackReason: 'no_decision' };
    return { tier: 'llm', value };
  } catch (err) {
    const e = err as Error;
    const reason =
      err instanceof BrokenCircuitError ? 'breaker_open' : e.name === 'TimeoutError' ? 'timeout' : `error: ${e.message.slice(0, 200)}`;
    return { tier: 'fallback', value: await s.fallback(), fallbackReason: reason };
  }
}

/** What one role calls: its model (none: the fallback decides), its timeout, its circuit breaker. */
export interface LlmBinding {
  model: LanguageModel | undefined;
  timeoutMs: number;
  /** A role with its own model has its own breaker: a failing extraction model must not silence oversight. */
  breaker: string;
}

/** The models and timeouts the configuration gives (fields of the dependency container). */
export interface LlmSettings {
  /** Undefined: no LLM configured, every step takes its deterministic fallback. */
  model: LanguageModel | undefined;
  llmTimeoutMs: number;
  /** Roles with a model of their own (LLM_MODEL_<ROLE>); null: none for that role. */
  roleModels: Partial<Record<LlmRole, LanguageModel | null>>;
  /** Roles with a timeout of their own (LLM_TIMEOUT_MS_<ROLE>). */
  roleTimeouts: Partial<Record<LlmRole, number>>;
}

export function llmFor(svc: LlmSettings, role: LlmRole): LlmBinding {
  const own = svc.roleModels[role];
  return {
    model: own === undefined ? svc.model : (own ?? undefined),
    timeoutMs: svc.roleTimeouts[role] ?? svc.llmTimeoutMs,
    breaker: own ? `${LLM_BREAKER}:${role}` : LLM_BREAKER,
  };
}
