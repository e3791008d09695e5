// A language model that follows a script: each generate call takes the next step
// (tool calls or a text answer). The AI SDK's MockLanguageModelV3 underneath; the
// only thing replaced in tests is the LLM, never a service.
import { MockLanguageModelV3 } from 'ai/test';

export type ScriptStep =
  | { tools: { name: string; args: Record<string, unknown> }[] }
  | { text: string }
  | { error: Error }
  | { hang: true };

const usage = { inputTokens: { total: 10, noCache: 10, cacheRead: 0, cacheWrite: 0 }, outputTokens: { total: 5, text: 5, reasoning: 0 } };

export function scriptedModel(script: ScriptStep[]): MockLanguageModelV3 & { calls: () => number } {
  let i = 0;
  const model = new MockLanguageModelV3({
    doGenerate: async (opts) => {
      const step = script[Math.min(i++, script.length - 1)]!;
      if ('error' in step) throw step.error;
      if ('hang' in step) {
        await new Promise((_, reject) => opts.abortSignal?.addEventListener('abort', () => reject(new Error('aborted'))));
      }
      if ('tools' in step) {
        return {
          finishReason: { unified: 'tool-calls', raw: undefined },
          usage,
          warnings: [],
          content: step.tools.map((t, k) => ({ type: 'tool-call' as const, toolCallId: `call-${i}-${k}`, toolName: t.name, input: JSON.stringify(t.args) })),
        };
      }
      return { finishReason: { unified: 'stop', raw: undefined }, usage, warnings: [], content: [{ type: 'text' as const, text: (step as { text: string }).text }] };
    },
  });
  return Object.assign(model, { calls: () => i });
}
