// The console timeline's one-line summaries and payload trimming (functions/api/timeline.ts),
// on payloads of the shapes the steps write.
import { describe, expect, it } from 'vitest';
import { MAX_PAYLOAD_CHARS, summarize, trimPayload } from '../../../functions/api/timeline.ts';

describe('summarize', () => {
  it('one line per kind, from what the entry records', () => {
    expect(summarize('scope_paused', { by: 'user:operator', reason: 'checking a source' })).toBe('scope paused (by user:operator): checking a source');
    expect(summarize('scope_closed', { by: 'user:operator', superseded_reviews: ['fin-a'] })).toBe('scope closed (by user:operator, 1 pending review(s) superseded)');
    expect(summarize('scope_resumed', {})).toBe('scope resumed');
    expect(summarize('context_doc', { title: 'Q3 plan', doc_id: 'd1', text: 'x' })).toBe('document received: Q3 plan');
    expect(summarize('context_doc', { doc_id: 'd1', extraction_error: { code: 'document_too_large' } })).toBe('document received: d1 (not read: document_too_large)');
    expect(summarize('proposal_approved', { approved_by: 'auto', governance_path: 'processProposal', mode: 'YOLO' }, { tier: 1 })).toBe('governance approve (tier 1, path processProposal, YOLO)');
    expect(summarize('proposal_approved', { approved_by: 'human:alice', governance_path: 'human_review' })).toBe('governance approve (by human:alice, path human_review)');
    expect(summarize('proposal_approved', { approved_by: 'human:alice', governance_path: 'human_review', amended: ['plan'] })).toBe(
      'governance approve (by human:alice, amended: plan, path human_review)',
    );
    expect(summarize('plan_amended', { amended_by: 'human:alice', actions: ['open_investigation', 'halt_and_review'], original_actions: ['open_investigation'] })).toBe(
      'plan amended (by human:alice): open_investigation, halt_and_review (was open_investigation)',
    );
    expect(summarize('proposal_rejected', { governance_path: 'processProposal', reason_code: 'stale_epoch', reason: 'proposal read epoch 3' }, { tier: 2 })).toBe(
      'governance reject (tier 2, path processProposal, stale_epoch): proposal read epoch 3',
    );
    expect(summarize('state_transition', { from: 'FactsExtracted', to: 'DriftChecked', epoch: 5 })).toBe('state FactsExtracted → DriftChecked (epoch 5)');
    expect(summarize('drift_analyzed', { level: 'critical', types: ['contradiction'], notes: ['budget: 62 vs 71', 'date'] })).toBe('drift critical (contradiction): budget: 62 vs 71 (+1 more)');
    expect(summarize('finality_review_requested', { goal_score: 0.6984, blockers: ['low_confidence_claims'] })).toBe('finality review requested (goal score 0.70, blockers: low_confidence_claims)');
    expect(summarize('session_finalized', { outcome: 'RESOLVED', decided_by: 'evaluator', certificate_id: 'c-1' })).toBe('session finalized (RESOLVED, by evaluator); certificate c-1');
    expect(summarize('scope_status_changed', { from: 'open', to: 'escalated', outcome: 'ESCALATED', decided_by: 'evaluator', certificate_id: null })).toBe(
      'scope open → escalated (ESCALATED, by evaluator)',
    );
    // The planner logs action names (older entries, objects): both are listed.
    expect(summarize('actions_planned', { actions: ['open_investigation', 'halt_and_review'], reasoning: 'rule table' })).toBe('actions planned: 2 (open_investigation, halt_and_review)');
    expect(summarize('actions_planned', { actions: [{ type: 'request_source_refresh' }] })).toBe('actions planned: 1 (request_source_refresh)');
    expect(summarize('review_escalated', { review_id: 'gov-1', escalated_to: 'group:leads', deadline: '2026-03-02T09:00:00.000Z', by: 'system:deadline' })).toBe(
      'review gov-1 escalated to group:leads: no answer by 2026-03-02T09:00:00.000Z',
    );
    expect(summarize('review_expired', { review_id: 'gov-1', action: 'reject', deadline: '2026-03-04T09:00:00.000Z', by: 'system:deadline' })).toBe(
      'review gov-1 rejected by system:deadline: no answer by 2026-03-04T09:00:00.000Z',
    );
    expect(summarize('review_expired', { review_id: 'fin-1', action: 'defer', days: 7, deadline: '2026-03-04T09:00:00.000Z', by: 'system:deadline' })).toBe(
      'review fin-1 deferred by system:deadline: no answer by 2026-03-04T09:00:00.000Z (7 days)',
    );
    expect(summarize('some_new_kind', {})).toBe('some new kind');
  });
});

describe('trimPayload', () => {
  it('leaves a small payload as it is', () => {
    const p = { a: 1, b: ['x'], c: { d: 'e' } };
    expect(trimPayload(p)).toEqual({ payload: p, truncated: false });
  });

  it('cuts long strings and lists, marks a document text cut in SQL, and replaces what is still too large by its keys', () => {
    const long = trimPayload({ s: 'y'.repeat(5000), xs: Array.from({ length: 80 }, (_, i) => i) });
    expect(long.truncated).toBe(true);
    expect((long.payload.s as string).length).toBe(1001);
    expect(long.payload.xs).toHaveLength(50);
    expect(trimPayload({ text: 'abc', text_chars: 9000 }).payload).toEqual({ text: 'abc', text_chars: 9000, text_truncated: true });
    const wide = Object.fromEntries(Array.from({ length: 40 }, (_, i) => [`k${i}`, 'z'.repeat(900)]));
    const out = trimPayload(wide);
    expect(out).toEqual({ payload: { payload_omitted: true, keys: Object.keys(wide) }, truncated: true });
    expect(JSON.stringify(out.payload).length).toBeLessThan(MAX_PAYLOAD_CHARS);
  });
});
