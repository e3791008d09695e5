// Which model and how long, per LLM role. Extraction, oversight and the review
// explanation want different models and budgets, so each role may name its own
// (LLM_MODEL_<ROLE>, LLM_TIMEOUT_MS_<ROLE>) and otherwise takes the global ones.
// Pure: reads only the parsed configuration it is given.

/** Every place the swarm asks a model something; a step calls its roles one after another. */
export const LLM_ROLES = ['facts', 'drift', 'planner', 'status', 'governance_oversight', 'governance_tools', 'review_explanation'] as const;
export type LlmRole = (typeof LLM_ROLES)[number];

const ROLE_OF_STEP: Readonly<Record<string, LlmRole>> = { 'governance-oversight': 'governance_oversight', 'governance-agent': 'governance_tools', 'review-explanation': 'review_explanation' };
/** The role of a withLlm step name, `other` for an unknown one: a metric label, so bounded. */
export function llmRoleOf(step: string): LlmRole | 'other' {
  const role = ROLE_OF_STEP[step] ?? step;
  return (LLM_ROLES as readonly string[]).includes(role) ? (role as LlmRole) : 'other';
}

type RoleKey = Uppercase<LlmRole>;
export type RoleModelVar = `LLM_MODEL_${RoleKey}`;
export type RoleTimeoutVar = `LLM_TIMEOUT_MS_${RoleKey}`;
export const roleModelVar = (role: LlmRole) => `LLM_MODEL_${role.toUpperCase()}` as RoleModelVar;
export const roleTimeoutVar = (role: LlmRole) => `LLM_TIMEOUT_MS_${role.toUpperCase()}` as RoleTimeoutVar;

/** What the role settings are read from (the parsed Env has these fields). */
export type RoleEnv = { LLM_PROVIDER: string; LLM_MODEL: string; LLM_TIMEOUT_MS: number } & Partial<Record<RoleModelVar, string>> &
  Partial<Record<RoleTimeoutVar, number>>;

/** `LLM_MODEL_<ROLE>=none` turns the model off for that role only: its deterministic fallback decides. */
export const NO_MODEL = 'none';

export interface RoleSettings {
  /** The model name for this role, or null: no model, the fallback decides. */
  model: string | null;
  timeoutMs: number;
  /** True when the role names its own model (so it gets its own circuit breaker). */
  ownModel: boolean;
}

export function roleSettings(env: RoleEnv, role: LlmRole): RoleSettings {
  const own = env[roleModelVar(role)];
  const name = own || env.LLM_MODEL;
  const model = env.LLM_PROVIDER === 'none' || !name || name === NO_MODEL ? null : name;
  return { model, timeoutMs: env[roleTimeoutVar(role)] ?? env.LLM_TIMEOUT_MS, ownModel: Boolean(own) && own !== env.LLM_MODEL };
}

/**
 * The longest the model calls of a step may take, all together: the sum of its roles'
 * timeouts. A role without a model costs nothing (the fallback is the step's own work).
 */
export function llmBudgetMs(env: RoleEnv, roles: readonly LlmRole[]): number {
  return roles.reduce((sum, r) => {
    const s = roleSettings(env, r);
    return sum + (s.model ? s.timeoutMs : 0);
  }, 0);
}

/** A step's whole deadline under this configuration: its own work (default 30 s) plus its LLM roles' timeouts. */
export function stepDeadlineMs(def: { timeoutMs?: number; llm?: readonly LlmRole[] }, env: RoleEnv): number {
  return (def.timeoutMs ?? 30_000) + llmBudgetMs(env, def.llm ?? []);
}
