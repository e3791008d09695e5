import { describe, expect, it } from 'vitest';
import { ProposalSubmitted } from '../../../shared/contract/messages.ts';
import { amendProposal, canonicalAmendments, IDENTITY_FIELDS } from '../../../shared/domain/amend.ts';

const proposal = {
  proposal_id: 's/e5/planner',
  proposer: 'planner',
  action: 'advance_state',
  from: 'DriftChecked',
  to: 'ContextIngested',
  expected_epoch: 5,
  reason: 'plan: open_investigation',
  plan: { actions: ['open_investigation'] },
};

describe('amendProposal', () => {
  it('changes reason and plan only, and says which changed', () => {
    const r = amendProposal(proposal, { plan: { actions: ['open_investigation', 'request_source_refresh'] }, reason: 'plan: open_investigation' });
    expect(r).toMatchObject({ ok: true, changed: ['plan'] });
    if (!r.ok) return;
    expect(r.original).toEqual(proposal);
    expect(r.amended).toEqual({ ...proposal, plan: { actions: ['open_investigation', 'request_source_refresh'] } });
    expect(ProposalSubmitted.parse(r.amended)).toEqual(r.amended);
  });

  it('adds a plan to a proposal that had none', () => {
    const { plan: _, ...bare } = proposal;
    const r = amendProposal(bare, { plan: { actions: ['halt_and_review'] }, reason: 'hold' });
    expect(r).toMatchObject({ ok: true, changed: ['reason', 'plan'], amended: { plan: { actions: ['halt_and_review'] }, reason: 'hold' } });
  });

  it.each(IDENTITY_FIELDS)('refuses an amendment of %s, naming it', (field) => {
    const r = amendProposal(proposal, { reason: 'x', [field]: field === 'expected_epoch' ? 6 : 'other' });
    expect(r).toMatchObject({ ok: false, code: 'amendment_not_allowed', field });
    expect(r.ok ? '' : r.message).toContain(`amendments.${field}`);
  });

  it('refuses a field that is not the proposal’s', () => {
    expect(amendProposal(proposal, { drift: 'none' })).toMatchObject({ ok: false, code: 'amendment_not_allowed', field: 'drift' });
  });

  it('validates against the proposal schema: action names, their number, duplicates, the reason’s length', () => {
    const bad = [
      { plan: { actions: ['Open Investigation'] } },
      { plan: { actions: Array.from({ length: 21 }, (_, i) => `a${i}`) } },
      { plan: { actions: ['a', 'a'] } },
      { plan: { actions: ['a'], extra: 1 } },
      { plan: ['a'] },
      { reason: 'x'.repeat(501) },
      { reason: 7 },
    ];
    for (const a of bad) expect(amendProposal(proposal, a), JSON.stringify(a).slice(0, 80)).toMatchObject({ ok: false, code: 'invalid_amendment' });
  });

  it('refuses amendments that change nothing, or are no object', () => {
    for (const a of [{}, { reason: proposal.reason }, { plan: { actions: ['open_investigation'] } }, null, [], 'x']) {
      expect(amendProposal(proposal, a)).toMatchObject({ ok: false, code: 'invalid_amendment' });
    }
  });

  it('needs a proposal to amend', () => {
    expect(amendProposal({ proposal_id: 'x' }, { reason: 'y' })).toMatchObject({ ok: false, code: 'nothing_to_amend' });
    expect(amendProposal(undefined, { reason: 'y' })).toMatchObject({ ok: false, code: 'nothing_to_amend' });
  });

  it('canonical text does not depend on key order', () => {
    expect(canonicalAmendments({ plan: { actions: ['a'] }, reason: 'r' })).toBe(canonicalAmendments({ reason: 'r', plan: { actions: ['a'] } }));
    expect(canonicalAmendments({ reason: 'r' })).not.toBe(canonicalAmendments({ reason: 's' }));
  });
});
