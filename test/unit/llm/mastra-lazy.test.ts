// Mastra weighs ~200 MB of RSS per process; the offline default never uses it. Importing
// every step must not load it; the first LLM decision does.
import { describe, expect, it, vi } from 'vitest';
import { z } from 'zod';
import { scriptedModel } from '../../support/scripted-model.ts';

const loaded = vi.hoisted(() => ({ agent: 0 }));
vi.mock('@mastra/core/agent', async (original) => {
  loaded.agent++;
  return original();
});

describe('Mastra is loaded on demand', () => {
  it('importing every step leaves it unloaded; the first decision loads it', async () => {
    await import('../../../functions/registry.ts');
    expect(loaded.agent).toBe(0);

    const { decide } = await import('../../../shared/llm/decide.ts');
    const model = scriptedModel([{ tools: [{ name: 'approve', args: { reason: 'fine' } }] }, { text: 'done' }]);
    const d = await decide(model, { id: 'probe', instructions: 'Decide.', prompt: 'Decide now.', decisions: { approve: { description: 'approve', input: z.object({ reason: z.string() }) } } });
    expect(d).toEqual({ tool: 'approve', args: { reason: 'fine' } });
    expect(loaded.agent).toBe(1);
  });
});
