import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { decide } from '../../../shared/llm/decide.ts';
import { scriptedModel } from '../../support/scripted-model.ts';

const decisions = {
  approve: { description: 'Approve with a rationale', input: z.object({ rationale: z.string() }) },
  reject: { description: 'Reject with a rationale', input: z.object({ rationale: z.string() }) },
};

describe('decide (Mastra tool-calling agent)', () => {
  it('reads through read tools, then returns the decision tool call', async () => {
    let reads = 0;
    const model = scriptedModel([
      { tools: [{ name: 'readDrift', args: {} }] },
      { tools: [{ name: 'reject', args: { rationale: 'critical drift' } }] },
      { text: 'Rejected.' },
    ]);
    const d = await decide(model, {
      id: 'gov',
      instructions: 'Decide.',
      prompt: 'Proposal P',
      reads: { readDrift: { description: 'drift', read: () => (reads++, { level: 'critical' }) } },
      decisions,
    });
    expect(d).toEqual({ tool: 'reject', args: { rationale: 'critical drift' } });
    expect(reads).toBe(1);
    // The agent saw the read tool's answer before deciding.
    const prompt = JSON.stringify(model.doGenerateCalls[1]!.prompt);
    expect(prompt).toContain('critical');
  });

  it('returns undefined when the model answers without deciding', async () => {
    const d = await decide(scriptedModel([{ text: 'I would rather not.' }]), { id: 'g', instructions: 'x', prompt: 'y', decisions });
    expect(d).toBeUndefined();
  });

  it('rejects a decision whose arguments do not match the schema', async () => {
    const d = await decide(scriptedModel([{ tools: [{ name: 'approve', args: { rationale: 42 } }] }, { text: 'ok' }]), {
      id: 'g', instructions: 'x', prompt: 'y', decisions,
    });
    expect(d).toBeUndefined();
  });
});
