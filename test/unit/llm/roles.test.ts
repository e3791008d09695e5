// Per-role LLM settings (pure): which model and timeout each role gets, and what a
// step's deadline adds up to.
import { describe, expect, it } from 'vitest';
import { STEP_BUDGETS } from '../../../functions/budgets.ts';
import { SWARM_STEPS } from '../../../functions/registry.ts';
import { loadEnv } from '../../../shared/config.ts';
import { LLM_ROLES, llmBudgetMs, roleSettings, stepDeadlineMs } from '../../../shared/llm/roles.ts';

const env = (vars: Record<string, string>) => loadEnv({ GSWARM_HOME: '/nonexistent', LLM_PROVIDER: 'openai-compatible', LLM_BASE_URL: 'http://127.0.0.1:1/v1', LLM_MODEL: 'general', ...vars });

describe('roleSettings', () => {
  it('a role without settings of its own takes LLM_MODEL and LLM_TIMEOUT_MS', () => {
    const e = env({ LLM_TIMEOUT_MS: '20000' });
    for (const role of LLM_ROLES) expect(roleSettings(e, role)).toEqual({ model: 'general', timeoutMs: 20_000, ownModel: false });
  });

  it('LLM_MODEL_<ROLE> and LLM_TIMEOUT_MS_<ROLE> apply to that role only', () => {
    const e = env({ LLM_MODEL_FACTS: 'extractor', LLM_TIMEOUT_MS_GOVERNANCE_TOOLS: '120000' });
    expect(roleSettings(e, 'facts')).toEqual({ model: 'extractor', timeoutMs: 30_000, ownModel: true });
    expect(roleSettings(e, 'governance_tools')).toEqual({ model: 'general', timeoutMs: 120_000, ownModel: false });
    expect(roleSettings(e, 'governance_oversight')).toEqual({ model: 'general', timeoutMs: 30_000, ownModel: false });
  });

  it('none turns one role off; LLM_PROVIDER=none turns every role off, whatever the role says', () => {
    expect(roleSettings(env({ LLM_MODEL_STATUS: 'none' }), 'status').model).toBeNull();
    expect(roleSettings(env({ LLM_MODEL_STATUS: 'none' }), 'planner').model).toBe('general');
    const off = env({ LLM_PROVIDER: 'none', LLM_MODEL_FACTS: 'extractor' });
    for (const role of LLM_ROLES) expect(roleSettings(off, role).model).toBeNull();
  });

  it('an empty value is unset; a timeout out of range is refused, naming the variable', () => {
    expect(roleSettings(env({ LLM_MODEL_DRIFT: '', LLM_TIMEOUT_MS_DRIFT: '' }), 'drift')).toEqual({ model: 'general', timeoutMs: 30_000, ownModel: false });
    expect(() => env({ LLM_TIMEOUT_MS_PLANNER: '5' })).toThrow(/LLM_TIMEOUT_MS_PLANNER/);
    expect(() => env({ LLM_TIMEOUT_MS_PLANNER: 'soon' })).toThrow(/LLM_TIMEOUT_MS_PLANNER/);
  });
});

describe('step deadlines', () => {
  it("add the timeouts of the step's roles to its own work, and nothing for a role without a model", () => {
    const e = env({ LLM_TIMEOUT_MS_GOVERNANCE_OVERSIGHT: '5000', LLM_TIMEOUT_MS_GOVERNANCE_TOOLS: '60000', LLM_MODEL_STATUS: 'none' });
    expect(llmBudgetMs(e, ['governance_oversight', 'governance_tools'])).toBe(65_000);
    expect(stepDeadlineMs(STEP_BUDGETS.governance, e)).toBe(30_000 + 65_000);
    expect(stepDeadlineMs(STEP_BUDGETS.status, e)).toBe(30_000);
    expect(stepDeadlineMs(STEP_BUDGETS.executor, e)).toBe(30_000);
    expect(stepDeadlineMs(STEP_BUDGETS.facts, env({ LLM_PROVIDER: 'none' }))).toBe(90_000);
  });

  it("every step has a budget, and every role is some step's", () => {
    expect(Object.keys(STEP_BUDGETS).sort()).toEqual(SWARM_STEPS.map((s) => s.name).sort());
    expect(new Set(Object.values(STEP_BUDGETS).flatMap((b) => b.llm))).toEqual(new Set(LLM_ROLES));
  });
});
