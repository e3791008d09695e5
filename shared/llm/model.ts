// Which language model the LLM steps use, chosen by configuration. With
// LLM_PROVIDER=none (the default) there is none, and every step takes its
// deterministic fallback: the swarm runs with no network and no key.
import { createOpenAICompatible } from '@ai-sdk/openai-compatible';
import type { LanguageModelV3 } from '@ai-sdk/provider';
import type { Env } from '../config.ts';

export type LanguageModel = LanguageModelV3;

export type LlmConfig = Pick<Env, 'LLM_PROVIDER' | 'LLM_BASE_URL' | 'LLM_API_KEY' | 'LLM_MODEL'>;

/** Any OpenAI-compatible endpoint: OpenAI, Ollama (/v1), vLLM, LM Studio... */
export function modelFromConfig(cfg: LlmConfig): LanguageModel | undefined {
  if (cfg.LLM_PROVIDER === 'none') return undefined;
  if (!cfg.LLM_BASE_URL || !cfg.LLM_MODEL) {
    throw new Error('LLM_PROVIDER=openai-compatible needs LLM_BASE_URL and LLM_MODEL');
  }
  const provider = createOpenAICompatible({
    name: 'llm',
    baseURL: cfg.LLM_BASE_URL,
    ...(cfg.LLM_API_KEY ? { apiKey: cfg.LLM_API_KEY } : {}),
  });
  return provider.chatModel(cfg.LLM_MODEL);
}
