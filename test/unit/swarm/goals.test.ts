// The goal lifecycle as a pure decision: unreachable by a named deadline, superseded by
// a new target, met by a statement that it is done; never by a plan, a denial or the
// goal's own document, and each goal at most once per document.
import { describe, expect, it } from 'vitest';
import { dayOf } from '../../../shared/extract/dates.ts';
import { goalChanges, type KnownGoal } from '../../../shared/domain/goals.ts';

const day = (iso: string) => {
  const [y, m, d] = iso.split('-').map(Number);
  const n = dayOf(y!, m!, d!);
  return { label: iso, start: n, end: n };
};
const close: KnownGoal = { id: 'g1', text: "The seller's goal is to sign and close the transaction by October 31, 2026.", doc: 'd1', state: 'open', deadline: day('2026-10-31') };
const bridge: KnownGoal = { id: 'g2', text: 'keep the old bridge open for buses until the new crossing opens', doc: 'd1', state: 'open' };

describe('goal changes', () => {
  it('unreachable: the deadline named again points at the goal', () => {
    const ch = goalChanges([close, bridge], {
      id: 'd3',
      updates: [{ state: 'unreachable', text: 'completion before December 15, 2026 is impossible, so the goal of closing by October 31, 2026 cannot be met', dates: [day('2026-10-31'), day('2026-12-15')] }],
      claims: [],
    });
    expect(ch).toEqual([{ goalId: 'g1', state: 'unreachable', text: expect.stringContaining('cannot be met') }]);
  });

  it('superseded: a new target replaces an open goal; an unreachable one is only marked replaced', () => {
    const update = { state: 'superseded' as const, text: 'both parties now target closing the transaction by January 31, 2027', dates: [day('2027-01-31')], deadline: day('2027-01-31') };
    expect(goalChanges([close], { id: 'd4', updates: [update], claims: [] })).toEqual([{ goalId: 'g1', state: 'superseded', text: update.text }]);
    expect(goalChanges([{ ...close, state: 'unreachable' }], { id: 'd4', updates: [update], claims: [] })).toEqual([{ goalId: 'g1', state: null, replaced: true, text: update.text }]);
    // The goal with the same deadline is the new one, not the one it replaces.
    expect(goalChanges([{ ...close, deadline: day('2027-01-31') }], { id: 'd4', updates: [update], claims: [] })).toEqual([]);
  });

  it('met: a statement that the goal holds or is done, not a plan and not a denial', () => {
    const said = (text: string, mood: { done?: boolean; modal?: boolean; negated?: boolean }) => goalChanges([bridge], { id: 'd4', updates: [], claims: [{ text, mood }] });
    expect(said('The old bridge remains open for buses until the new crossing opens.', { done: true })).toEqual([{ goalId: 'g2', state: 'met', text: expect.any(String) }]);
    expect(said('The old bridge will remain open for buses until the new crossing opens.', { done: true, modal: true })).toEqual([]);
    expect(said('The old bridge no longer remains open for buses until the new crossing opens.', { done: true, negated: true })).toEqual([]);
    expect(said('The bus service over the old bridge continues; its load rating was confirmed.', { done: true })).toEqual([]);
  });

  it('with vectors, the cosine decides; a goal changes once per document; its own document never changes it', () => {
    const g = { ...bridge, vector: [1, 0, 0] };
    const claims = [
      { text: 'a', mood: { done: true }, vector: [0.95, 0.31, 0] },
      { text: 'b', mood: { done: true }, vector: [0.99, 0.1, 0] },
    ];
    expect(goalChanges([g], { id: 'd4', updates: [], claims })).toEqual([{ goalId: 'g2', state: 'met', text: 'a' }]);
    expect(goalChanges([g], { id: 'd1', updates: [], claims })).toEqual([]);
    expect(goalChanges([g], { id: 'd4', updates: [], claims: [{ text: 'c', mood: { done: true }, vector: [0.6, 0.8, 0] }] })).toEqual([]);
  });
});
