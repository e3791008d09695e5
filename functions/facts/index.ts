// facts: a document (or a human resolution) arrives → record it in the context log,
// extract claims, goals and risks (LLM, or the offline extractor), embed the claims,
// merge them into the semantic graph (a restated fact is matched to its node), find
// contradictions between documents and the revisions that resolve them, store the
// document's facts (an S3 object of its own, indexed in facts_documents), and propose
// ContextIngested → FactsExtracted.
// When the cycle comes back to ContextIngested with documents that arrived meanwhile,
// it proposes again (activation: new context since its last proposal).
import type { StepContext } from '../../shared/runtime/step.ts';
import { defineAgentStep } from '../../shared/swarm/agent-step.ts';
import { STEP_BUDGETS } from '../budgets.ts';
import type { Envelope } from '../../shared/contract/envelope.ts';
import { PermanentError, TransientError } from '../../shared/contract/errors.ts';
import { message, type Payload } from '../../shared/contract/messages.ts';
import { latestSeq } from '../../shared/store/context-log.ts';
import { setEmbedding } from '../../shared/store/graph.ts';
import { getScope } from '../../shared/store/scopes.ts';
import { readState } from '../../shared/store/state.ts';
import { lockFactsScope, stageDocument } from '../../shared/store/facts-queue.ts';
import { digestBacklog, digestThrough } from '../../shared/swarm/facts-digest.ts';
import { readDocument } from '../../shared/swarm/facts-read.ts';
import { KeyedMutex } from '../../shared/swarm/keyed-mutex.ts';
import { activation } from '../../shared/swarm/activation.ts';
import { entering, movedOn, requireAgentRelation, stillAt } from '../../shared/swarm/guards.ts';
import { loadMemory, saveMemory } from '../../shared/store/memory.ts';
import { proposeAdvance } from '../../shared/swarm/propose.ts';

const AGENT = 'facts';
const DOC_KINDS = ['context_doc', 'resolution'] as const;

export const step = defineAgentStep(AGENT, STEP_BUDGETS.facts, {
  groupCommit: false, // its writes hold the scope's advisory lock and run long: grouped, others would wait for them
  on: { 'doc.submitted': onDocument, 'state.advanced': entering('ContextIngested', onCycle) },
});
export const { app, handler } = step;

const authorize = (ctx: StepContext, scope: string) => requireAgentRelation(ctx.deps.authz, AGENT, 'contributor', scope, 'is not a contributor on');

async function onDocument(doc: Payload<'doc.submitted'>, msg: Envelope, ctx: StepContext) {
  const db = ctx.deps.db;
  if (!(await getScope(db, msg.scope))) throw new PermanentError('scope_not_found', `scope ${msg.scope} does not exist (create it with PUT /v1/scopes/${msg.scope})`);
  await authorize(ctx, msg.scope);

  // Slow work first, outside any transaction (swarm/facts-read.ts); then the read document
  // is staged and merged under the scope's lock, one document after another: the holder
  // digests every staged document of the scope (a bounded batch per transaction).
  const { staged, reembed } = await readDocument(msg, ctx, AGENT);
  const batch = ctx.deps.env.FACTS_DIGEST_BATCH;
  const row = await stageDocument(db, msg.scope, msg.id, staged);
  return scopeTurns.run(msg.scope, async () => {
    await digestBacklog(db, msg.scope, AGENT, row, batch);
    return ctx.commit(async (tx) => {
      await lockFactsScope(tx, msg.scope);
      for (const p of reembed) await setEmbedding(tx, p.nodeId, p.vector);
      const { mine: r, digested } = await digestThrough(tx, msg.scope, AGENT, { messageId: msg.id, docId: doc.doc_id }, batch);
      const emit = [message('facts.extracted', { doc_id: doc.doc_id, facts_sha: r.facts_sha, tier: r.tier, ...r.counts })];
      if (digested.docs) {
        // This run merged documents: propose the next step, only from ContextIngested; mid-cycle documents wait for the cycle to come round.
        const state = await readState(tx, msg.scope);
        if (state?.node === 'ContextIngested') {
          await saveMemory(tx, msg.scope, AGENT, { lastSeq: digested.lastSeq, lastHash: digested.lastHash, activated: true });
          emit.push(proposeAdvance(msg.scope, AGENT, state, digested.docs === 1 ? `document ${doc.doc_id} extracted` : `${digested.docs} documents extracted`));
        } else {
          await saveMemory(tx, msg.scope, AGENT, { lastHash: digested.lastHash, activated: true });
        }
      }
      return { emit, result: { ...r.result, digested: digested.docs } };
    });
  });
}

/** One merge per scope at a time in this process (see KeyedMutex). */
const scopeTurns = new KeyedMutex();

async function onCycle(adv: Payload<'state.advanced'>, msg: Envelope, ctx: StepContext) {
  const db = ctx.deps.db;
  const [memory, latest, state] = await Promise.all([loadMemory(db, msg.scope, AGENT), latestSeq(db, msg.scope, DOC_KINDS), readState(db, msg.scope)]);
  const act = activation([{ kind: 'new_context' }], memory, { now: Date.now(), latestSeq: latest });
  if (!act.activate) return { result: { skipped: act.reasons.join('; ') } };
  if (!stillAt(state, 'ContextIngested', adv.epoch)) return movedOn();
  return ctx.commit(async (tx) => {
    await saveMemory(tx, msg.scope, AGENT, { lastSeq: latest, activated: true });
    return { emit: [proposeAdvance(msg.scope, AGENT, state, act.reasons.join('; '))], result: { proposed: true, reasons: act.reasons } };
  });
}
