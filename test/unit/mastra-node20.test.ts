// @mastra/core 1.x declares Node >= 22.13; this project runs on Node 20. This test
// is the proof the README points to: an Agent built with the real library runs a
// scripted tool-calling loop (AI SDK mock model) on the Node version of this run.
import { Agent } from '@mastra/core/agent';
import { createTool } from '@mastra/core/tools';
import { MockLanguageModelV3 } from 'ai/test';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';

const usage = { inputTokens: { total: 3, noCache: 3, cacheRead: 0, cacheWrite: 0 }, outputTokens: { total: 2, text: 2, reasoning: 0 } };

describe('Mastra on this Node runtime', () => {
  it('runs on Node 20', () => {
    expect(process.versions.node.split('.')[0]).toBe('20');
  });

  it('runs a tool-calling agent loop to completion', async () => {
    const calls: unknown[] = [];
    const approve = createTool({
      id: 'approve',
      description: 'Approve the proposal with a reason',
      inputSchema: z.object({ reason: z.string() }),
      outputSchema: z.object({ recorded: z.boolean() }),
      execute: async (input) => {
        calls.push(input);
        return { recorded: true };
      },
    });
    let step = 0;
    const model = new MockLanguageModelV3({
      doGenerate: async () => {
        step++;
        if (step === 1) {
          return {
            finishReason: { unified: 'tool-calls', raw: undefined },
            usage,
            warnings: [],
            content: [{ type: 'tool-call', toolCallId: 'c1', toolName: 'approve', input: JSON.stringify({ reason: 'no drift' }) }],
          };
        }
        return { finishReason: { unified: 'stop', raw: undefined }, usage, warnings: [], content: [{ type: 'text', text: 'approved' }] };
      },
    });
    const agent = new Agent({ id: 'probe', name: 'probe', instructions: 'Decide.', model, tools: { approve } });
    const out = await agent.generate('Proposal: advance ContextIngested -> FactsExtracted', { maxSteps: 3 });
    expect(calls).toEqual([{ reason: 'no drift' }]);
    expect(out.text).toBe('approved');
    expect(step).toBe(2);
  });
});
