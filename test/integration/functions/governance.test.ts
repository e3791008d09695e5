// The governance step against real Postgres, S3 (the drift it reads) and OpenFGA:
// tier 1 alone without a model; tiers 2/3 with a scripted model (oversight routes,
// the tool-calling agent decides, and may only tighten); the shared `llm` breaker
// falling back to tier 1; modes YOLO / MITL / MASTER; a proposer without the OpenFGA
// relation. Every decision has its decision_records row (path, tier, policy version).
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { step as governance } from '../../../functions/governance/index.ts';
import { initMetrics, metricsText, shutdownMetrics } from '../../../shared/adapters/metrics.ts';
import { breakerStates, resetBreakers } from '../../../shared/adapters/resilience.ts';
import type { Envelope } from '../../../shared/contract/envelope.ts';
import type { StepSuccess } from '../../../shared/contract/result.ts';
import { LLM_BREAKER } from '../../../shared/llm/run.ts';
import { createDeps, type Deps } from '../../../shared/runtime/deps.ts';
import type { IdempotencyStore } from '../../../shared/runtime/inbox/store.ts';
import type { Tx } from '../../../shared/store/db.ts';
import { setScopeMode } from '../../../shared/store/scopes.ts';
import { advanceState } from '../../../shared/store/state.ts';
import { scriptedModel, type ScriptStep } from '../../support/scripted-model.ts';
import { count, emitted, envelope, invoke, logEntries, rows, run, swarmTestEnv, types, type SwarmTestEnv } from '../../support/swarm.ts';

let t: SwarmTestEnv;
let policyVersion: string;
beforeAll(async () => {
  t = await swarmTestEnv();
  policyVersion = t.deps.policies.governance().version;
});
afterAll(async () => t?.close());
beforeEach(() => resetBreakers());

type Drift = { level: 'none' | 'low' | 'medium' | 'high' | 'critical'; types: string[] };
const CRITICAL: Drift = { level: 'critical', types: ['contradiction'] };

/** A scope at DriftChecked (epoch 2, the planner's turn) whose drift artifact says `drift`. */
async function plannerTurn(drift: Drift = { level: 'low', types: [] }, mode?: 'YOLO' | 'MITL' | 'MASTER'): Promise<string> {
  const scope = await t.scope('g-', mode ? { mode } : {});
  await advanceState(t.guarded, { scope, from: 'ContextIngested', to: 'FactsExtracted', expectedEpoch: 0, source: 'test' });
  await advanceState(t.guarded, { scope, from: 'FactsExtracted', to: 'DriftChecked', expectedEpoch: 1, source: 'test' });
  const pub = await t.deps.artifacts.publish(scope, 'drift', { ...drift, notes: [], references: [] }, { writer: 'test', expected: null });
  expect(pub.ok).toBe(true);
  return scope;
}

const proposal = (scope: string, over: Record<string, unknown> = {}): Envelope =>
  envelope('proposal.submitted', scope, {
    proposal_id: `${scope}/e2/planner`,
    proposer: 'planner',
    action: 'advance_state',
    from: 'DriftChecked',
    to: 'ContextIngested',
    expected_epoch: 2,
    reason: 'plan ready',
    ...over,
  });

type DecisionRow = { decision_id: string; decision: string; governance_path: string; tier: number; mode: string; policy_version: string; reasons: { code: string; message: string }[]; message_id: string; proposer: string };

/** The decision's record; every decision must have exactly one, naming the policy version. */
async function recorded(res: StepSuccess, msg: Envelope): Promise<DecisionRow> {
  const found = await rows<DecisionRow>(t, 'SELECT * FROM decision_records WHERE scope_id = $1 AND message_id = $2', [msg.scope, msg.id]);
  expect(found).toHaveLength(1);
  const r = found[0]!;
  const result = res.result as { decision: string; tier: number; path: string; mode: string; decision_id: string };
  expect(r).toMatchObject({ decision_id: result.decision_id, decision: result.decision, tier: result.tier, governance_path: result.path, mode: result.mode, policy_version: policyVersion });
  return r;
}

const review = async (decisionId: string) => rows<{ review_id: string; kind: string; status: string; request: Record<string, unknown> }>(t, 'SELECT * FROM review_queue WHERE decision_id = $1', [decisionId]);

async function decide(deps: Deps, msg: Envelope) {
  const res = await run(governance, deps, msg);
  return { res, row: await recorded(res, msg) };
}

/** What the model was given on its i-th call (messages and tool results, as text). */
function promptText(model: ReturnType<typeof scriptedModel>, i: number): string {
  return model.doGenerateCalls[i]!.prompt
    .flatMap((m) => (typeof m.content === 'string' ? [m.content] : m.content.map((p) => ('text' in p ? p.text : JSON.stringify(p)))))
    .join('\n');
}

const tools = (...calls: [string, Record<string, unknown>][]): ScriptStep => ({ tools: calls.map(([name, args]) => ({ name, args })) });

describe('governance tiers', () => {
  it('counts the decision in the metrics once committed, and not again on a redelivery', async () => {
    initMetrics({ METRICS_ENABLED: true, OTEL_SERVICE_NAME: 'governance-test' });
    try {
      const series = async () => (await metricsText()).split('\n').filter((l) => l.startsWith('gswarm_governance_decisions_total{'));
      const scope = await plannerTurn({ level: 'medium', types: ['contradiction'] });
      const msg = proposal(scope);
      await run(governance, t.deps, msg);
      await run(governance, t.deps, { ...msg, attempt: 2 });
      expect(await series()).toEqual([
        'gswarm_governance_decisions_total{gswarm_governance_path="processProposal",gswarm_governance_tier="1",gswarm_governance_decision="approve"} 1',
      ]);
    } finally {
      await shutdownMetrics();
    }
  });

  it('no model: tier 1 alone (processProposal); the approval goes to the executor', async () => {
    const scope = await plannerTurn({ level: 'medium', types: ['contradiction'] });
    const msg = proposal(scope);
    const { res, row } = await decide(t.deps, msg);
    expect(row).toMatchObject({ decision: 'approve', tier: 1, governance_path: 'processProposal', mode: 'YOLO', proposer: 'planner' });
    expect(types(res)).toEqual(['action.approved']);
    expect(emitted(res, 'action.approved').payload).toEqual({
      proposal_id: `${scope}/e2/planner`, decision_id: row.decision_id, from: 'DriftChecked', to: 'ContextIngested', expected_epoch: 2, approved_by: 'governance:tier1',
    });
    // The drift came from the artifact, not from the proposer: its rule's action is suggested.
    const [d] = await rows<{ suggested_actions: string[] }>(t, 'SELECT suggested_actions FROM decision_records WHERE decision_id = $1', [row.decision_id]);
    expect(d!.suggested_actions).toEqual(['open_investigation']);
    const [event] = await logEntries(t, scope, ['proposal_approved']);
    expect(event).toMatchObject({ source: 'governance', message_id: msg.id, payload: { decision_id: row.decision_id, governance_path: 'processProposal' } });
    expect(await rows(t, `SELECT kind FROM policy_versions WHERE policy_version = $1`, [policyVersion])).toEqual([{ kind: 'governance' }]);

    const again = await run(governance, t.deps, { ...msg, attempt: 2 });
    expect(again).toMatchObject({ replayed: true, emit: res.emit });
    expect(await count(t, 'SELECT count(*) AS n FROM decision_records WHERE scope_id = $1', [scope])).toBe(1);
  });

  it('tier 2 accepts the deterministic decision: path oversight_acceptDeterministic, the agent is not asked', async () => {
    const scope = await plannerTurn();
    const model = scriptedModel([tools(['acceptDeterministic', { reason: 'rules pass, drift low' }]), { text: 'Accepted.' }]);
    const { res, row } = await decide(t.depsWith({ model }), proposal(scope));
    expect(row).toMatchObject({ decision: 'approve', tier: 1, governance_path: 'oversight_acceptDeterministic' });
    expect(types(res)).toEqual(['action.approved']);
    expect(model.calls()).toBe(2);
    // The oversight agent saw tier 1's decision and the drift governance read.
    const prompt = promptText(model, 0);
    expect(prompt).toContain('"code":"policy_passed"');
    expect(prompt).toContain('drift {"level":"low","types":[]}');
  });

  it('escalated to the LLM, the tool-calling agent reads the state and approves: tier 3 processProposalWithAgent', async () => {
    const scope = await plannerTurn();
    const model = scriptedModel([
      tools(['escalateToLLM', { reason: 'look closer' }]),
      { text: 'Escalated.' },
      tools(['readState', {}], ['checkTransition', {}]),
      tools(['approve', { rationale: 'epoch and transition check out' }]),
      { text: 'Approved.' },
    ]);
    const { res, row } = await decide(t.depsWith({ model }), proposal(scope));
    expect(row).toMatchObject({ decision: 'approve', tier: 3, governance_path: 'processProposalWithAgent' });
    expect(row.reasons.map((r) => r.code)).toEqual(['policy_passed', 'higher_tier']);
    expect(row.reasons[1]!.message).toContain('epoch and transition check out');
    expect(emitted(res, 'action.approved').payload).toMatchObject({ approved_by: 'governance:tier3', decision_id: row.decision_id });
    // The agent's read tools answered from the real state (DriftChecked, epoch 2) and tier 1's check.
    const afterReads = promptText(model, 3);
    expect(afterReads).toContain('DriftChecked');
    expect(afterReads).toContain('deterministic_decision');
  });

  it('the agent rejecting an approvable proposal rejects it (a higher tier may tighten)', async () => {
    const scope = await plannerTurn();
    const model = scriptedModel([
      tools(['escalateToLLM', { reason: 'suspicious' }]),
      { text: 'Escalated.' },
      tools(['reject', { rationale: 'evidence too thin' }]),
      { text: 'Rejected.' },
    ]);
    const msg = proposal(scope);
    const { res, row } = await decide(t.depsWith({ model }), msg);
    expect(row).toMatchObject({ decision: 'reject', tier: 3, governance_path: 'processProposalWithAgent' });
    expect(res.emit).toEqual([]);
    expect(await review(row.decision_id)).toEqual([]);
    const [event] = await logEntries(t, scope, ['proposal_rejected']);
    expect(event).toMatchObject({ message_id: msg.id, payload: { audience: 'proposer', reason_code: 'higher_tier' } });
  });

  it('the agent approving a blocked proposal: still a human review (it may not loosen)', async () => {
    const scope = await plannerTurn(CRITICAL);
    const model = scriptedModel([tools(['escalateToLLM', { reason: 'critical drift' }]), { text: 'Escalated.' }, tools(['approve', { rationale: 'looks fine to me' }]), { text: 'Approved.' }]);
    const { res, row } = await decide(t.depsWith({ model }), proposal(scope));
    expect(row).toMatchObject({ decision: 'review', tier: 1 });
    expect(row.reasons.map((r) => r.code)).toEqual(['policy_block', 'higher_tier']);
    expect(row.reasons[1]!.message).toMatch(/would approve \(not allowed to loosen\)/);
    const [queued] = await review(row.decision_id);
    expect(queued).toMatchObject({ kind: 'governance_review', status: 'pending' });
    expect(emitted(res, 'review.requested').payload).toMatchObject({ review_id: queued!.review_id, kind: 'governance_review' });
    expect(types(res)).not.toContain('action.approved');
  });

  it('escalated to a human: review, a review_queue row and review.requested', async () => {
    const scope = await plannerTurn();
    const model = scriptedModel([tools(['escalateToHuman', { reason: 'a person should confirm this step' }]), { text: 'Escalated.' }]);
    const { res, row } = await decide(t.depsWith({ model }), proposal(scope));
    expect(row).toMatchObject({ decision: 'review', tier: 2, governance_path: 'oversight_escalateToHuman' });
    const [queued, ...more] = await review(row.decision_id);
    expect(more).toEqual([]);
    expect(queued).toMatchObject({ kind: 'governance_review', status: 'pending', request: { options: ['approve', 'reject'], obligations: [{ type: 'advance_state', expected_epoch: 2 }] } });
    expect(types(res)).toEqual(['review.requested']);
    expect(emitted(res, 'review.requested').payload).toMatchObject({ review_id: queued!.review_id, kind: 'governance_review', reason: expect.stringContaining('a person should confirm this step') });
    expect(model.calls()).toBe(2);
  });

  it('the model failing 3 times opens the llm breaker; the 4th decision is tier 1 without calling it', async () => {
    const model = scriptedModel([{ error: Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:11434'), { code: 'ECONNREFUSED' }) }]);
    const deps = t.depsWith({ model });
    const scope = await plannerTurn();
    const fallbacks: string[] = [];
    for (let i = 0; i < 4; i++) {
      const { res, row } = await decide(deps, proposal(scope));
      expect(row).toMatchObject({ decision: 'approve', tier: 1, governance_path: 'processProposal' });
      fallbacks.push(String((res.result as { llm_fallback?: string }).llm_fallback));
      if (i === 2) expect(breakerStates()[LLM_BREAKER]).toBe('open');
    }
    expect(fallbacks.slice(0, 3)).toEqual(Array(3).fill('error: connect ECONNREFUSED 127.0.0.1:11434'));
    expect(fallbacks[3]).toBe('breaker_open');
    expect(model.calls()).toBe(3);
  });
});

describe('governance modes and permissions', () => {
  it('YOLO approves, MITL sends the same proposal to a human; neither asks the model in MITL', async () => {
    const model = scriptedModel([tools(['acceptDeterministic', { reason: 'ok' }]), { text: 'ok' }]);
    const yolo = await plannerTurn({ level: 'low', types: [] }, 'YOLO');
    expect((await decide(t.deps, proposal(yolo))).row).toMatchObject({ decision: 'approve', mode: 'YOLO' });

    const mitl = await plannerTurn({ level: 'low', types: [] });
    await setScopeMode(t.guarded, mitl, 'MITL');
    const { res, row } = await decide(t.depsWith({ model }), proposal(mitl));
    expect(row).toMatchObject({ decision: 'review', mode: 'MITL', tier: 1, governance_path: 'processProposal' });
    expect(row.reasons[0]!.code).toBe('mitl_required');
    expect((await review(row.decision_id))[0]).toMatchObject({ status: 'pending' });
    expect(types(res)).toEqual(['review.requested']);
    expect(model.calls()).toBe(0);
  });

  it('a blocking drift: MASTER rejects (no human override, no LLM), YOLO sends it to review', async () => {
    const model = scriptedModel([tools(['acceptDeterministic', { reason: 'ok' }]), { text: 'ok' }]);
    const master = await plannerTurn(CRITICAL, 'MASTER');
    const m = await decide(t.depsWith({ model }), proposal(master));
    expect(m.row).toMatchObject({ decision: 'reject', mode: 'MASTER', tier: 1, governance_path: 'processProposal' });
    expect(m.row.reasons[0]).toMatchObject({ code: 'policy_block', message: expect.stringContaining('MASTER: no human override') });
    expect(m.res.emit).toEqual([]);
    expect(await review(m.row.decision_id)).toEqual([]);
    expect(model.calls()).toBe(0);

    const yolo = await plannerTurn(CRITICAL);
    const y = await decide(t.deps, proposal(yolo));
    expect(y.row).toMatchObject({ decision: 'review', mode: 'YOLO', tier: 1, governance_path: 'processProposal' });
    expect(y.row.reasons[0]!.code).toBe('policy_block');
    expect(types(y.res)).toEqual(['review.requested']);
  });

  it('a proposer without the OpenFGA relation is rejected (not_authorized) and recorded', async () => {
    const scope = await plannerTurn();
    const msg = proposal(scope, { proposer: 'intruder', proposal_id: `${scope}/e2/intruder` });
    const { res, row } = await decide(t.deps, msg);
    expect(row).toMatchObject({ decision: 'reject', proposer: 'intruder', tier: 1, governance_path: 'processProposal' });
    expect(row.reasons[0]).toMatchObject({ code: 'not_authorized', message: expect.stringContaining('agent:intruder lacks proposer on scope:') });
    const [authz] = await rows<{ authz: { allowed: boolean; checks: { reason: string }[] } }>(t, 'SELECT authz FROM decision_records WHERE decision_id = $1', [row.decision_id]);
    expect(authz!.authz).toMatchObject({ allowed: false, checks: [{ reason: 'denied' }, { reason: 'denied' }] });
    expect(res.emit).toEqual([]);
    // The scope did not move.
    expect(await rows(t, 'SELECT node, epoch FROM scope_state WHERE scope_id = $1', [scope])).toEqual([{ node: 'DriftChecked', epoch: '2' }]);
  });

  it('the decision commits with the inbox record: a commit that fails leaves no decision, and the redelivery decides once', async () => {
    const scope = await plannerTurn();
    const msg = proposal(scope);
    const real = t.deps.inbox;
    // The step's writes run, then the transaction fails before COMMIT (as a crash or a lost connection would).
    const crashing: IdempotencyStore<Tx> = {
      get: (k) => real.get(k),
      claim: (k, ms) => real.claim(k, ms),
      renew: (k, tok, ms) => real.renew(k, tok, ms),
      release: (k, tok) => real.release(k, tok),
      cleanup: () => real.cleanup(),
      commit: (req) => real.commit({ ...req, group: false, writes: async (tx) => { if (req.writes) await req.writes(tx); throw new Error('connection lost before COMMIT'); } }),
    };
    const failing = createDeps({ env: t.env, db: t.guarded, inbox: crashing });
    const res = await invoke(governance, failing, msg);
    expect(res.ok).toBe(false);
    expect(await count(t, 'SELECT count(*) AS n FROM decision_records WHERE scope_id = $1', [scope])).toBe(0);
    expect(await count(t, "SELECT count(*) AS n FROM context_log WHERE scope_id = $1 AND kind LIKE 'proposal_%'", [scope])).toBe(0);
    // The redelivery is decided afresh (not replayed from a decision the failed run left behind).
    const { res: again, row } = await decide(t.deps, msg);
    expect(row).toMatchObject({ decision: 'approve' });
    expect(again.result).toMatchObject({ replayed: false });
    expect(types(again)).toEqual(['action.approved']);
  });

  it('OpenFGA unreachable: the rejection is recorded but not kept for the message, which is retried and then decided', async () => {
    const scope = await plannerTurn();
    const msg = proposal(scope);
    const down = t.depsWith({}, { OPENFGA_API_URL: 'http://127.0.0.1:9', OPENFGA_TIMEOUT_MS: 300 });
    const res = await invoke(governance, down, msg);
    expect(res).toMatchObject({ ok: false, error: { class: 'transient', code: 'authz_unavailable' } });
    const audit = await rows<{ decision: string; message_id: string | null; reasons: { code: string }[] }>(t, 'SELECT decision, message_id, reasons FROM decision_records WHERE scope_id = $1', [scope]);
    expect(audit).toEqual([{ decision: 'reject', message_id: null, reasons: [expect.objectContaining({ code: 'authz_unavailable' })] }]);
    // The redelivery, with OpenFGA back, is evaluated afresh (not replayed) and approved.
    const { res: again, row } = await decide(t.deps, msg);
    expect(row).toMatchObject({ decision: 'approve', governance_path: 'processProposal' });
    expect(types(again)).toEqual(['action.approved']);
  });
});

