// The LLM path of facts extraction against a scripted model: what the model records
// is checked against the document — a figure whose quote is not in the text, or whose
// value is not in its quote, is dropped and counted — and what survives has the
// offline extractor's shape, so both paths feed the same comparison.
import { describe, expect, it } from 'vitest';
import { sameFigure, similarity } from '../../../shared/extract/compare.ts';
import { extractFacts } from '../../../shared/extract/extract.ts';
import { extractFactsWithLlm } from '../../../shared/llm/facts-agent.ts';
import { scriptedModel } from '../../support/scripted-model.ts';

const TEXT = `MEMO
Date: 2026-03-05

Annual recurring revenue (ARR) was $41.3M at June 30, 2026. Topline data is expected in Q4 2026.
We will hire approximately 20 engineers in Q4. ARR is restated from $48.0M to $41.3M.`;

const record = (args: Record<string, unknown>) =>
  scriptedModel([{ tools: [{ name: 'recordFacts', args: { figures: [], claims: [], goals: [], goal_updates: [], risks: [], assumptions: [], revisions: [], ...args } }] }, { text: 'done' }]);

describe('facts extraction, LLM path', () => {
  it('keeps figures the document states, with the value read back from the quote', async () => {
    const facts = await extractFactsWithLlm(
      record({
        figures: [
          { quote: 'Annual recurring revenue (ARR) was $41.3M at June 30, 2026', subject: 'ARR', value: 41300000, unit: 'USD', period: '2026-06-30' },
          { quote: 'Topline data is expected in Q4 2026', subject: 'topline data', value: '2026-Q4', unit: 'date' },
          { quote: 'We will hire approximately 20 engineers in Q4', subject: 'engineers to hire', value: 20, unit: 'engineers', role: 'target' },
        ],
        claims: [{ text: 'Topline data is expected in Q4 2026.', confidence: 0.8 }],
      }),
      { title: 'Memo', text: TEXT },
    );
    expect(facts!.dropped).toBe(0);
    const [arr, topline, hire] = facts!.claims;
    expect(arr!.statement).toMatchObject({ subject: 'arr', metric: 'USD', value: { kind: 'money', value: 41.3e6 }, period: '2026-06-30' });
    expect(TEXT.slice(...arr!.statement!.span!)).toBe('$41.3M');
    expect(topline!.statement).toMatchObject({ metric: 'date', value: { kind: 'date', label: '2026-Q4' } });
    // The quote says "approximately": so does the figure, whatever the model said.
    expect(hire!.statement).toMatchObject({ metric: 'count:engineer', role: 'target', value: { value: 20, approx: true } });
    // Same comparison key as the offline extractor's reading of the same sentence.
    const offline = extractFacts(TEXT).claims.find((c) => c.statement?.metric === 'USD' && c.statement.value.value === 41.3e6)!.statement!;
    expect(sameFigure(arr!.statement!, offline, similarity({ text: 'annual recurring revenue' }, { text: 'annual recurring revenue' }))).toBe(true);
    expect(facts!.acronyms).toEqual({ ARR: 'annual recurring revenue' });
  });

  it('drops what the document does not say: an invented quote, a number not in its quote, a claim not in the text', async () => {
    const facts = await extractFactsWithLlm(
      record({
        figures: [
          { quote: 'ARR was $52M at June 30, 2026', subject: 'ARR', value: 52000000, unit: 'USD' },
          { quote: 'Annual recurring revenue (ARR) was $41.3M', subject: 'ARR', value: 48000000, unit: 'USD' },
          { quote: 'Topline data is expected in Q4 2026', subject: 'topline data', value: '2026-Q2', unit: 'date' },
          { quote: 'Topline data is expected in Q4 2026', subject: 'topline data', value: '2026-13', unit: 'date' },
        ],
        claims: [{ text: 'The company was founded in 1999.', confidence: 0.9 }],
        revisions: [{ quote: 'ARR is restated from $48.0M to $41.3M', subject: 'ARR', unit: 'USD', from: 48000000, to: 40000000 }],
      }),
      { title: 'Memo', text: TEXT },
    );
    expect(facts!.claims).toEqual([]);
    expect(facts!.revisions).toEqual([]);
    expect(facts!.dropped).toBe(6);
  });

  it('revisions and goals: grounded like figures, deadlines read as dates', async () => {
    const facts = await extractFactsWithLlm(
      record({
        revisions: [{ quote: 'ARR is restated from $48.0M to $41.3M', subject: 'ARR', unit: 'USD', from: 48000000, to: 41300000 }],
        goals: [{ text: 'Hire approximately 20 engineers', deadline: 'Q4 2026' }],
        goal_updates: [{ state: 'superseded', text: 'Hiring now targets Q1 2027', new_deadline: '2027-Q1' }],
      }),
      { title: 'Memo', text: TEXT },
    );
    expect(facts!.revisions).toEqual([expect.objectContaining({ metric: 'USD', from: expect.objectContaining({ value: 48e6 }), to: expect.objectContaining({ value: 41.3e6 }) })]);
    expect(facts!.goals[0]).toMatchObject({ deadline: { label: '2026-Q4' } });
    expect(facts!.goalUpdates[0]).toMatchObject({ state: 'superseded', deadline: { label: '2027-Q1' } });
  });

  it('a malformed or oversized answer is no answer (the tool schema refuses it; the step falls back), nor is none', async () => {
    await expect(extractFactsWithLlm(record({ figures: 'all of them' }), { title: 't', text: TEXT })).resolves.toBeUndefined();
    const many = Array.from({ length: 301 }, () => ({ quote: 'x', subject: 's', value: 1, unit: 'USD' }));
    await expect(extractFactsWithLlm(record({ figures: many }), { title: 't', text: TEXT })).resolves.toBeUndefined();
    await expect(extractFactsWithLlm(scriptedModel([{ text: 'Nothing to report.' }]), { title: 't', text: 'x' })).resolves.toBeUndefined();
  });
});
