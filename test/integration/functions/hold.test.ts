// Issue 13, item 5: a paused scope's steps hold what they receive (recorded, acknowledged,
// nothing acted on), a resume releases it and the cycle finishes where it stopped; a pause
// committed while a step is working wins (the hold is read again in the acting
// transaction); a closed scope's steps do nothing. Steps invoked one by one on the real
// services, the pause and resume through the same store call the API makes.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { step as drift } from '../../../functions/drift/index.ts';
import { step as executor } from '../../../functions/executor/index.ts';
import { step as facts } from '../../../functions/facts/index.ts';
import { step as finality } from '../../../functions/finality/index.ts';
import { step as governance } from '../../../functions/governance/index.ts';
import { SWARM_STEPS } from '../../../functions/registry.ts';
import type { Authorizer } from '../../../shared/adapters/authz.ts';
import type { Envelope } from '../../../shared/contract/envelope.ts';
import { releaseId, type HoldAction } from '../../../shared/domain/hold.ts';
import { changeHold } from '../../../shared/store/hold.ts';
import { readState } from '../../../shared/store/state.ts';
import { acme, count, emitted, envelope, logEntries, recordedApproval, rows, run, settle, swarmTestEnv, type SwarmTestEnv } from '../../support/swarm.ts';

let t: SwarmTestEnv;
beforeAll(async () => {
  t = await swarmTestEnv();
}, 60_000);
afterAll(() => t?.close());

const hold = async (scope: string, action: HoldAction, reason?: string) => {
  const out = await t.guarded.transaction((tx) => changeHold(tx, t.deps.policies, { scope, action, by: 'user:operator', accessId: null, ...(reason ? { reason } : {}) }));
  if (!out.ok) throw new Error(out.refused.message);
  return out;
};

/** What the API publishes on resume: one hold.released per held message. */
const releases = (scope: string, out: Awaited<ReturnType<typeof hold>>): Envelope[] =>
  (out.release?.messages ?? []).map((m) =>
    envelope('hold.released', scope, { consumer: m.consumer, message_id: m.messageId, release: out.release!.n }, releaseId(scope, m.consumer, m.messageId, out.release!.n)),
  );

const held = (scope: string) => rows<{ consumer: string; type: string }>(t, 'SELECT consumer, type FROM held_messages WHERE scope_id = $1 ORDER BY consumer', [scope]);

describe('a scope paused mid-cycle', () => {
  it('holds the next step (state unchanged, message kept); resume finishes the cycle and finality evaluates', async () => {
    const scope = await t.scope('hold-');
    // Facts reads the document and proposes; governance approves; the executor advances into FactsExtracted.
    const proposed = emitted(await run(facts, t.deps, envelope('doc.submitted', scope, acme(1))), 'proposal.submitted');
    const approved = emitted(await run(governance, t.deps, proposed), 'action.approved');
    const advanced = emitted(await run(executor, t.deps, approved), 'state.advanced');
    expect(await readState(t.guarded, scope)).toMatchObject({ node: 'FactsExtracted', epoch: 1 });

    // Paused while drift's wake-up is on its way.
    await hold(scope, 'pause', 'checking the source of document 1');
    const res = await run(drift, t.deps, advanced);
    expect(res).toMatchObject({ emit: [], result: { held: 'paused' } });
    expect(await held(scope)).toEqual([{ consumer: 'drift', type: 'state.advanced' }]);
    // A redelivery of the same message is the inbox's replay: still one held row.
    expect((await run(drift, t.deps, advanced)).replayed).toBe(true);
    expect(await held(scope)).toHaveLength(1);
    // Nothing moved: no drift assessment, no advance, no finality round.
    expect(await readState(t.guarded, scope)).toMatchObject({ node: 'FactsExtracted', epoch: 1 });
    expect(await logEntries(t, scope, ['drift_analyzed'])).toEqual([]);
    // Time passing (a finality.evaluate of the timer) is held too: no round, no certificate.
    const timer = envelope('finality.evaluate', scope, { reason: 'timer' });
    expect((await run(finality, t.deps, timer)).result).toEqual({ held: 'paused' });
    expect(await count(t, 'SELECT count(*) AS n FROM convergence_history WHERE scope_id = $1', [scope])).toBe(0);

    // Resume: the held messages are released to their steps and the cycle runs to its end.
    const resumed = await hold(scope, 'resume', 'source confirmed');
    expect(resumed.release?.messages.map((m) => m.consumer).sort()).toEqual(['drift', 'finality']);
    await settle(SWARM_STEPS, t.deps, releases(scope, resumed), { skip: ['status'] });
    expect(await readState(t.guarded, scope)).toMatchObject({ node: 'ContextIngested', epoch: 3 });
    expect(await count(t, 'SELECT count(*) AS n FROM convergence_history WHERE scope_id = $1', [scope])).toBeGreaterThanOrEqual(1);
    expect(await held(scope)).toEqual([]);

    // Recorded: the events (timeline, event stream) and the decision records with the reasons.
    const events = await logEntries(t, scope, ['scope_paused', 'scope_resumed']);
    expect(events.map((e) => [e.kind, e.payload.by, e.payload.reason])).toEqual([
      ['scope_paused', 'user:operator', 'checking the source of document 1'],
      ['scope_resumed', 'user:operator', 'source confirmed'],
    ]);
    const decisions = await rows<{ action: string; proposer: string; rationale: string; governance_path: string }>(
      t,
      `SELECT action, proposer, rationale, governance_path FROM decision_records WHERE scope_id = $1 AND governance_path = 'operator' ORDER BY created_at`,
      [scope],
    );
    expect(decisions).toEqual([
      { action: 'pause_scope', proposer: 'user:operator', rationale: 'checking the source of document 1', governance_path: 'operator' },
      { action: 'resume_scope', proposer: 'user:operator', rationale: 'source confirmed', governance_path: 'operator' },
    ]);
  }, 60_000);

  it('a release delivered twice acts once', async () => {
    const scope = await t.scope('hold2-');
    const proposed = emitted(await run(facts, t.deps, envelope('doc.submitted', scope, acme(1))), 'proposal.submitted');
    await hold(scope, 'pause');
    expect((await run(governance, t.deps, proposed)).result).toEqual({ held: 'paused' });
    const out = await hold(scope, 'resume');
    const [release] = releases(scope, out);
    // Two resumes in a row publish the same message under two release numbers.
    const again = await hold(scope, 'resume');
    const [second] = releases(scope, again);
    expect(second!.id).not.toBe(release!.id);
    const first = await run(governance, t.deps, release!);
    expect(emitted(first, 'action.approved')).toBeTruthy();
    expect((await run(governance, t.deps, second!)).result).toMatchObject({ skipped: 'no longer held' });
    expect(await count(t, `SELECT count(*) AS n FROM decision_records WHERE scope_id = $1 AND governance_path <> 'operator'`, [scope])).toBe(1);
  });
});

describe('a pause committed while a step is working', () => {
  it('wins: the executor reads the hold again in the transaction that would advance, and holds the approval', async () => {
    const scope = await t.scope('race-');
    const approval = await recordedApproval(t, scope, { from: 'ContextIngested', to: 'FactsExtracted', expected_epoch: 0 });
    // The executor's own permission check runs after the hold's first read and before its
    // commit: the operator's pause lands exactly there.
    let paused = false;
    const authz: Authorizer = {
      check: async (req) => {
        if (req.relation === 'executor' && !paused) {
          paused = true;
          await hold(scope, 'pause', 'mid-step');
        }
        return t.deps.authz.check(req);
      },
      checkAll: (reqs) => t.deps.authz.checkAll(reqs),
    };
    const res = await run(executor, t.depsWith({}, {}, { authz }), approval);
    expect(paused).toBe(true);
    expect(res).toMatchObject({ emit: [], result: { held: 'paused' } });
    expect(await readState(t.guarded, scope)).toMatchObject({ node: 'ContextIngested', epoch: 0 });
    expect(await held(scope)).toEqual([{ consumer: 'executor', type: 'action.approved' }]);

    const [release] = releases(scope, await hold(scope, 'resume'));
    expect(emitted(await run(executor, t.deps, release!), 'state.advanced').payload).toMatchObject({ to: 'FactsExtracted', epoch: 1 });
  });
});

describe('a closed scope', () => {
  it('gets nothing more done by its steps, and its held messages are never released', async () => {
    const scope = await t.scope('closed-');
    const proposed = emitted(await run(facts, t.deps, envelope('doc.submitted', scope, acme(1))), 'proposal.submitted');
    await hold(scope, 'pause');
    expect((await run(governance, t.deps, proposed)).result).toEqual({ held: 'paused' });
    const closed = await hold(scope, 'close', 'deal abandoned');
    expect(closed.state.hold).toBe('closed');
    const approval = await recordedApproval(t, scope, { from: 'ContextIngested', to: 'FactsExtracted', expected_epoch: 0 });
    expect((await run(executor, t.deps, approval)).result).toEqual({ skipped: 'scope closed' });
    expect((await run(finality, t.deps, envelope('finality.evaluate', scope, { reason: 'timer' }))).result).toEqual({ skipped: 'scope closed' });
    expect(await readState(t.guarded, scope)).toMatchObject({ node: 'ContextIngested', epoch: 0 });
    expect(await count(t, 'SELECT count(*) AS n FROM convergence_history WHERE scope_id = $1', [scope])).toBe(0);
    // Resume and pause are refused; a second close changes nothing.
    const refuse = (action: HoldAction) => t.guarded.transaction((tx) => changeHold(tx, t.deps.policies, { scope, action, by: 'user:operator', accessId: null }));
    expect(await refuse('resume')).toMatchObject({ ok: false, refused: { code: 'scope_closed' } });
    expect(await refuse('pause')).toMatchObject({ ok: false, refused: { code: 'scope_closed' } });
    expect(await refuse('close')).toMatchObject({ ok: true, changed: false });
    expect(await logEntries(t, scope, ['scope_closed'])).toHaveLength(1);
  });
});
