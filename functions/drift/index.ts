// drift: once the scope reaches FactsExtracted, compare the facts before and after
// the documents that arrived since its last assessment (deterministic, or the LLM
// confirming/correcting it), publish the drift artifact governance reads, and
// propose FactsExtracted → DriftChecked.
// Activation: the facts version changed since the last assessment, or the
// contradiction dimension is under pressure; otherwise the previous drift stands.
import { STEP_BUDGETS } from '../budgets.ts';
import type { Envelope } from '../../shared/contract/envelope.ts';
import { TransientError } from '../../shared/contract/errors.ts';
import { message, type Payload } from '../../shared/contract/messages.ts';
import { analyzeDrift } from '../../shared/llm/agents.ts';
import { withLlm } from '../../shared/llm/run.ts';
import type { StepContext } from '../../shared/runtime/step.ts';
import { defineAgentStep } from '../../shared/swarm/agent-step.ts';
import { DriftDocument } from '../../shared/store/artifacts.ts';
import { appendEvent } from '../../shared/store/context-log.ts';
import { factsHead, loadFactsSnapshot } from '../../shared/store/facts-documents.ts';
import { queryEdges } from '../../shared/store/graph.ts';
import { loadHistory } from '../../shared/store/convergence.ts';
import { readState } from '../../shared/store/state.ts';
import { activation } from '../../shared/swarm/activation.ts';
import { assessDrift, type DriftReport } from '../../shared/swarm/drift.ts';
import { loadMemory, saveMemory } from '../../shared/store/memory.ts';
import { proposeAdvance } from '../../shared/swarm/propose.ts';
import { entering, movedOn, stillAt } from '../../shared/swarm/guards.ts';
import { llmFor } from '../../shared/llm/run.ts';

const AGENT = 'drift';
/** Compare-and-swap attempts on the drift pointer before giving the message back. */
const PUBLISH_ATTEMPTS = 5;

export const step = defineAgentStep(AGENT, STEP_BUDGETS.drift, { holds: true, on: { 'state.advanced': entering('FactsExtracted', assess) } });
export const { app, handler } = step;

async function assess(adv: Payload<'state.advanced'>, msg: Envelope, ctx: StepContext) {
  const db = ctx.deps.db;
  const { deps } = ctx;
  const state = await readState(db, msg.scope);
  if (!stillAt(state, 'FactsExtracted', adv.epoch)) return movedOn();

  // The facts version (facts_documents); its snapshot is read from S3 only when drift activates.
  const head = await factsHead(db, msg.scope);
  const memory = await loadMemory(db, msg.scope, AGENT);
  const history = (await loadHistory(db, msg.scope, 1))[0];
  const act = activation(
    [{ kind: 'artifact_changed' }, { kind: 'pressure', dimensions: ['contradiction_resolution'], threshold: 0.15 }],
    memory,
    { now: Date.now(), hash: head?.version ?? null, ...(history ? { pressure: history.pressure } : {}) },
  );

  let report: DriftReport & { tier: 'llm' | 'fallback'; fallback_reason?: string };
  if (act.activate || !memory.lastHash) {
    const current = head ? await loadFactsSnapshot(db, deps.factsObjects, msg.scope, head.version) : null;
    // The baseline is the facts version this agent last assessed (its memory), not the
    // version before the newest document: every document that arrived since the last
    // assessment is new to this one (several arrive during one cycle). A version not in
    // the index (the sha of a facts artifact from before migration 009) reads as none.
    const seen = memory.lastHash;
    const previous = seen ? (seen === head?.version ? current : await loadFactsSnapshot(db, deps.factsObjects, msg.scope, seen)) : null;
    const contradicts = await queryEdges(db, msg.scope, { kinds: ['contradicts'] });
    const open = contradicts.filter((e) => e.status === 'active');
    const newDocs = new Set(current?.order.filter((d) => !previous?.order.includes(d)) ?? []);
    const fresh = open.filter((e) => newDocs.has((e.metadata as { found_in?: string }).found_in ?? ''));
    const base = current
      ? assessDrift({ previous, current, openContradictions: open.length, newContradictions: fresh.length })
      : { level: 'none' as const, types: [], notes: ['no facts yet'], references: [] };
    const out = await withLlm({
      step: 'drift',
      ...llmFor(deps, 'drift'),
      run: (model, signal) =>
        analyzeDrift(model, { current, previous, openContradictions: open.map((e) => e.metadata), deterministic: { level: base.level, types: base.types, notes: base.notes } }, signal),
      fallback: () => ({ level: base.level, types: base.types, notes: base.notes }),
    });
    report = { ...base, ...out.value, tier: out.tier, ...(out.fallbackReason ? { fallback_reason: out.fallbackReason } : {}) };
  } else {
    const prev = await deps.artifacts.latest(msg.scope, 'drift');
    const d = prev ? DriftDocument.parse(prev.document) : { level: 'none' as const, types: [], notes: [], references: [] };
    report = { level: d.level, types: d.types as DriftReport['types'], notes: [...d.notes, `not re-assessed: ${act.reasons.join('; ')}`], references: d.references as DriftReport['references'], tier: 'fallback' };
  }

  const doc = { ...report, facts_sha256: head?.version ?? null, epoch: adv.epoch };
  // The drift artifact is still one pointer replaced by compare-and-swap. This report does
  // not depend on the version it replaces, so a lost race is retried here, on the new
  // version, rather than thrown (a redelivery each, and a dead letter after max_deliver).
  let published = await deps.artifacts.publish(msg.scope, 'drift', doc, { writer: AGENT, expected: (await deps.artifacts.latest(msg.scope, 'drift'))?.pointer.sha256 ?? null });
  for (let attempt = 2; !published.ok && attempt <= PUBLISH_ATTEMPTS; attempt++) {
    published = await deps.artifacts.publish(msg.scope, 'drift', doc, { writer: AGENT, expected: published.current?.sha256 ?? null });
  }
  if (!published.ok) throw new TransientError('drift_artifact_conflict', `the drift artifact was replaced by another writer ${PUBLISH_ATTEMPTS} times in a row; retrying later`);

  return ctx.commit(async (tx) => {
    await appendEvent(tx, { scope: msg.scope, kind: 'drift_analyzed', source: AGENT, messageId: msg.id, payload: { level: report.level, types: report.types, notes: report.notes, tier: report.tier, drift_sha256: published.pointer.sha256 } });
    await saveMemory(tx, msg.scope, AGENT, { lastHash: head?.version ?? null, activated: act.activate });
    return {
      emit: [
        message('drift.assessed', { level: report.level, types: report.types, drift_sha: published.pointer.sha256, tier: report.tier }),
        proposeAdvance(msg.scope, AGENT, state, `drift ${report.level}`),
      ],
      result: { level: report.level, types: report.types, tier: report.tier, activated: act.activate },
    };
  });
}
