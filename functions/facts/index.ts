// facts: a document (or a human resolution) arrives → record it in the context log,
// extract claims, goals and risks (LLM, or the offline extractor), embed the claims,
// merge them into the semantic graph (a restated fact is matched to its node), find
// contradictions between documents and the revisions that resolve them, store the
// document's facts (an S3 object of its own, indexed in facts_documents), and propose
// ContextIngested → FactsExtracted.
// When the cycle comes back to ContextIngested with documents that arrived meanwhile,
// it proposes again (activation: new context since its last proposal).
import { lambdaHandler } from '../../shared/runtime/lambda.ts';
import { defineStep, type StepContext } from '../../shared/runtime/step.ts';
import { STEP_BUDGETS } from '../budgets.ts';
import type { Envelope } from '../../shared/contract/envelope.ts';
import { PermanentError, TransientError } from '../../shared/contract/errors.ts';
import { message, payloadOf, PUBLISHERS } from '../../shared/contract/messages.ts';
import { textsToEmbed } from '../../shared/extract/embed-texts.ts';
import type { DocumentFacts } from '../../shared/extract/extract.ts';
import { assertDocumentSize, limitsFromEnv } from '../../shared/extract/limits.ts';
import { extractOffline } from '../../shared/extract/pool.ts';
import { extractFactsWithLlm } from '../../shared/llm/facts-agent.ts';
import { withLlm } from '../../shared/llm/run.ts';
import { appendEvent, latestSeq } from '../../shared/store/context-log.ts';
import { loadTerms } from '../../shared/store/figures.ts';
import { setEmbedding, unembeddedClaims } from '../../shared/store/graph.ts';
import { getScope } from '../../shared/store/scopes.ts';
import { readState } from '../../shared/store/state.ts';
import { lockFactsScope, pendingBefore, stageDocument, takePending, takeResult, type StagedDocument } from '../../shared/store/facts-queue.ts';
import { digest, DigestResult, type DigestOutcome } from '../../shared/swarm/facts-digest.ts';
import { inTransaction } from '../../shared/store/db.ts';
import { KeyedMutex } from '../../shared/swarm/keyed-mutex.ts';
import { activation } from '../../shared/swarm/activation.ts';
import { loadMemory, saveMemory } from '../../shared/swarm/memory.ts';
import { proposeAdvance } from '../../shared/swarm/propose.ts';
import { llmFor, services } from '../../shared/swarm/services.ts';

const AGENT = 'facts';
const DOC_KINDS = ['context_doc', 'resolution'] as const;

export const step = defineStep({
  name: AGENT,
  consumes: ['doc.submitted', 'state.advanced'],
  emits: PUBLISHERS.facts,
  ...STEP_BUDGETS.facts,
  groupCommit: false, // its writes hold the scope's advisory lock and run long: grouped, others would wait for them
  handle: (msg, ctx) => (msg.type === 'doc.submitted' ? onDocument(msg, ctx) : onCycle(msg, ctx)),
});
export const app = step.app;
export const handler = lambdaHandler(step);

async function authorize(ctx: StepContext, scope: string): Promise<void> {
  const r = await ctx.deps.authz.check({ user: `agent:${AGENT}`, relation: 'contributor', object: `scope:${scope}` });
  if (r.allowed) return;
  if (r.reason === 'unavailable') throw new TransientError('authz_unavailable', `OpenFGA unavailable: ${r.detail ?? ''}`);
  throw new PermanentError('not_authorized', `agent:${AGENT} is not a contributor on scope:${scope} (${r.reason})`);
}

async function onDocument(msg: Envelope, ctx: StepContext) {
  const doc = payloadOf('doc.submitted', msg.payload);
  const svc = services(ctx.deps);
  const db = ctx.deps.db;
  if (!(await getScope(db, msg.scope))) throw new PermanentError('scope_not_found', `scope ${msg.scope} does not exist (create it with PUT /v1/scopes/${msg.scope})`);
  await authorize(ctx, msg.scope);

  // Slow work first, outside any transaction: extraction, embeddings, the S3 object.
  // The offline extractor runs in a worker thread with a deadline (EXTRACT_*), so a
  // pathological document cannot block this process's event loop.
  const env = ctx.deps.env;
  const limits = limitsFromEnv(env);
  let extracted: Awaited<ReturnType<typeof withLlm<DocumentFacts>>>;
  try {
    assertDocumentSize(doc.text, limits);
    extracted = await withLlm<DocumentFacts>({
      step: 'facts',
      ...llmFor(svc, 'facts'),
      run: (model, signal) => extractFactsWithLlm(model, { title: doc.title, text: doc.text }, signal),
      fallback: () => extractOffline(doc.text, limits, { workers: env.EXTRACT_WORKERS, timeoutMs: env.EXTRACT_TIMEOUT_MS, workerFile: env.EXTRACT_WORKER_FILE || undefined, signal: ctx.signal }),
    });
  } catch (err) {
    // A document that cannot be read (too large, extraction deadline) is still recorded in
    // the context log — accepted evidence is never lost — before the message is dead-lettered
    // with the reason. The append is idempotent per message: a replay records it once.
    if (err instanceof PermanentError) {
      await appendEvent(db, {
        scope: msg.scope,
        kind: doc.kind === 'resolution' ? 'resolution' : 'context_doc',
        source: AGENT,
        messageId: msg.id,
        payload: { doc_id: doc.doc_id, title: doc.title, text: doc.text, submitted_by: doc.submitted_by, extraction_error: { code: err.code, message: err.message } },
      });
    }
    throw err;
  }
  const facts = { ...extracted.value, title: doc.title };
  const terms = { ...(await loadTerms(db, msg.scope)), ...facts.acronyms };

  // One embedding call for everything this document needs compared by meaning:
  // claim sentences, figure subjects (acronyms spelled out), goals and goal updates.
  const texts = textsToEmbed(facts, terms);
  const vectorOf = new Map<string, number[]>();
  let embedError: string | undefined;
  if (svc.embeddings.enabled && texts.length) {
    try {
      const out = await svc.embeddings.embed(texts, { signal: ctx.signal });
      texts.forEach((t, i) => out.vectors[i] && vectorOf.set(t, out.vectors[i]!));
    } catch (err) {
      // The worker being down never loses a claim: it is stored without a vector and matched by its words.
      embedError = (err as Error).message;
      ctx.log.warn({ err }, 'embeddings unavailable; claims stored without vectors');
    }
  }
  // Claims stored earlier without a vector get one now, when the worker is back.
  const pending = embedError ? [] : await unembeddedClaims(db, msg.scope, 64);
  let pendingVectors: number[][] = [];
  if (pending.length) {
    try {
      pendingVectors = (await svc.embeddings.embed(pending.map((n) => n.content), { signal: ctx.signal })).vectors;
    } catch {
      pendingVectors = [];
    }
  }

  // This document's facts, an object of its own (immutable, same bytes on a retry); listed in facts_documents when digested.
  const stored = await svc.factsObjects.put(msg.scope, doc.doc_id, { title: doc.title, kind: doc.kind, tier: extracted.tier, facts });

  // Stage the read document, then merge. Merging runs under the scope's lock, one
  // document after another; the holder digests every staged document of the scope (a
  // bounded batch per transaction), so documents that arrive together are merged by
  // one run and the others find their work done.
  const staged: StagedDocument = {
    doc: { doc_id: doc.doc_id, title: doc.title, text: doc.text, kind: doc.kind, submitted_by: doc.submitted_by },
    tier: extracted.tier,
    ...(extracted.fallbackReason ? { fallbackReason: extracted.fallbackReason } : {}),
    facts: facts as unknown as Record<string, unknown>,
    terms,
    vectors: [...vectorOf],
    ...(embedError ? { embedError } : {}),
    stored,
  };
  const batch = env.FACTS_DIGEST_BATCH;
  const row = await stageDocument(db, msg.scope, msg.id, staged);
  return scopeTurns.run(msg.scope, async () => {
    // A backlog ahead of this document (a burst, a crash's leftovers) is digested in batches of its own first.
    while ((await pendingBefore(db, msg.scope, row)) >= batch) {
      await inTransaction(db, async (tx) => {
        await lockFactsScope(tx, msg.scope);
        await digest(tx, msg.scope, AGENT, await takePending(tx, msg.scope, batch));
      });
    }

    return ctx.commit(async (tx) => {
      await lockFactsScope(tx, msg.scope);
      for (let i = 0; i < pending.length && i < pendingVectors.length; i++) await setEmbedding(tx, pending[i]!.nodeId, pendingVectors[i]!);
      let digested: DigestOutcome = { docs: 0, lastSeq: 0 };
      let mine = await takeResult(tx, msg.scope, msg.id);
      while (!mine) {
        const next = await takePending(tx, msg.scope, batch);
        if (!next.length) {
          throw new TransientError('facts_not_staged', `document ${doc.doc_id} of message ${msg.id} is neither staged nor digested`);
        }
        const out = await digest(tx, msg.scope, AGENT, next);
        digested = { docs: digested.docs + out.docs, lastSeq: Math.max(digested.lastSeq, out.lastSeq), lastHash: out.lastHash ?? digested.lastHash };
        mine = await takeResult(tx, msg.scope, msg.id);
      }
      const r = DigestResult.parse(mine);
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

async function onCycle(msg: Envelope, ctx: StepContext) {
  const adv = payloadOf('state.advanced', msg.payload);
  if (adv.to !== 'ContextIngested') return { result: { skipped: `state moved to ${adv.to}` } };
  const db = ctx.deps.db;
  const [memory, latest, state] = await Promise.all([loadMemory(db, msg.scope, AGENT), latestSeq(db, msg.scope, DOC_KINDS), readState(db, msg.scope)]);
  const act = activation([{ kind: 'new_context' }], memory, { now: Date.now(), latestSeq: latest });
  if (!act.activate || state?.node !== 'ContextIngested' || state.epoch !== adv.epoch) {
    return { result: { skipped: act.activate ? 'state moved on' : act.reasons.join('; ') } };
  }
  return ctx.commit(async (tx) => {
    await saveMemory(tx, msg.scope, AGENT, { lastSeq: latest, activated: true });
    return { emit: [proposeAdvance(msg.scope, AGENT, state, act.reasons.join('; '))], result: { proposed: true, reasons: act.reasons } };
  });
}
