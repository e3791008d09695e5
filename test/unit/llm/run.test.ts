import { MockLanguageModelV3 } from 'ai/test';
import { beforeEach, describe, expect, it } from 'vitest';
import { breakerStates, resetBreakers } from '../../../shared/adapters/resilience.ts';
import { LLM_BREAKER, withLlm } from '../../../shared/llm/run.ts';
import { modelFromConfig } from '../../../shared/llm/model.ts';

const model = new MockLanguageModelV3();
const step = (run: () => Promise<string | undefined>, timeoutMs = 1000) =>
  withLlm({ step: 'test', model, timeoutMs, run: () => run(), fallback: () => 'deterministic' });

beforeEach(() => resetBreakers());

describe('withLlm', () => {
  it('takes the fallback when no model is configured', async () => {
    const out = await withLlm({ step: 't', model: undefined, timeoutMs: 10, run: async () => 'llm', fallback: () => 'deterministic' });
    expect(out).toEqual({ tier: 'fallback', value: 'deterministic', fallbackReason: 'no_model' });
    expect(modelFromConfig({ LLM_PROVIDER: 'none', LLM_BASE_URL: '', LLM_API_KEY: '', LLM_MODEL: '' })).toBeUndefined();
  });

  it('uses the model when it decides, and the fallback when it does not', async () => {
    await expect(step(async () => 'from-llm')).resolves.toEqual({ tier: 'llm', value: 'from-llm' });
    await expect(step(async () => undefined)).resolves.toEqual({ tier: 'fallback', value: 'deterministic', fallbackReason: 'no_decision' });
  });

  it('times out a slow model', async () => {
    const out = await step(() => new Promise(() => {}), 50);
    expect(out).toEqual({ tier: 'fallback', value: 'deterministic', fallbackReason: 'timeout' });
  });

  it('opens the breaker after 3 failures, then falls back without calling the model', async () => {
    let calls = 0;
    const failing = async () => {
      calls++;
      throw Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
    };
    for (let i = 0; i < 3; i++) expect((await step(failing)).fallbackReason).toMatch(/^error: connect ECONNREFUSED/);
    expect(breakerStates()[LLM_BREAKER]).toBe('open');
    const out = await step(failing);
    expect(out).toEqual({ tier: 'fallback', value: 'deterministic', fallbackReason: 'breaker_open' });
    expect(calls).toBe(3);
  });

  it('needs a base URL and model name for an OpenAI-compatible endpoint', () => {
    expect(() => modelFromConfig({ LLM_PROVIDER: 'openai-compatible', LLM_BASE_URL: '', LLM_API_KEY: '', LLM_MODEL: 'm' })).toThrow(/LLM_BASE_URL/);
    const m = modelFromConfig({ LLM_PROVIDER: 'openai-compatible', LLM_BASE_URL: 'http://127.0.0.1:11434/v1', LLM_API_KEY: '', LLM_MODEL: 'qwen3:8b' });
    expect(m?.modelId).toBe('qwen3:8b');
  });
});
