import { describe, expect, it } from 'vitest';
import { findContradictions } from '../../../shared/extract/contradictions.ts';
import { extractFactsWithLlm } from '../../../shared/llm/facts-agent.ts';
import { scriptedModel } from '../../support/scripted-model.ts';

describe('facts extraction, LLM path', () => {
  it('turns the recordFacts call into the extractor shape, normalising units', async () => {
    const model = scriptedModel([
      {
        tools: [
          {
            name: 'recordFacts',
            args: {
              claims: [{ text: 'We will hire 20 engineers in Q4.', confidence: 0.9, figure: { subject: 'Hiring', metric: 'Engineers', period: 'q4', value: 20 } }],
              goals: [{ text: 'Hire 20 engineers in Q4' }],
              risks: [{ text: 'Tight talent market', severity: 'high' }],
              assumptions: ['Pipeline converts'],
              revisions: [],
            },
          },
        ],
      },
      { text: 'done' },
    ]);
    const facts = await extractFactsWithLlm(model, { title: 'Memo', text: 'We will hire 20 engineers in Q4.' });
    expect(facts!.claims[0]).toEqual({
      text: 'We will hire 20 engineers in Q4.',
      confidence: 0.9,
      statement: { subject: 'hiring', metric: 'engineers', period: 'Q4', value: { kind: 'count', value: 20 }, surface: '20' },
    });
    expect(facts!.risks).toEqual([{ text: 'Tight talent market', severity: 'high' }]);
    // Same key as the offline extractor: the two paths feed the same contradiction check.
    const other = { id: 'b', doc: 'd2', statement: { subject: 'hiring', metric: 'engineers', value: { kind: 'count' as const, value: 15 }, surface: '15' } };
    expect(findContradictions([{ id: 'a', doc: 'd1', statement: facts!.claims[0]!.statement! }, other])).toHaveLength(1);
  });

  it('gives up (so the fallback runs) when the model never records facts', async () => {
    await expect(extractFactsWithLlm(scriptedModel([{ text: 'Nothing to report.' }]), { title: 't', text: 'x' })).resolves.toBeUndefined();
  });
});
