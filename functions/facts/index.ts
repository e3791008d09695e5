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
import { recordFactsDocument } from '../../shared/store/facts-documents.ts';
import { loadTerms, saveTerms } from '../../shared/store/figures.ts';
import { figureFreeClaimsWithText, getNode, nearestClaims, setEmbedding, unembeddedClaims, upsertNode } from '../../shared/store/graph.ts';
import { getScope } from '../../shared/store/scopes.ts';
import { readState } from '../../shared/store/state.ts';
import { markDigested, pendingBefore, stageDocument, takePending, takeResult, type QueuedDocument, type StagedDocument } from '../../shared/store/facts-queue.ts';
import { inTransaction, type PoolClient } from '../../shared/store/db.ts';
import { z } from 'zod';
import { KeyedMutex } from '../../shared/swarm/keyed-mutex.ts';
import { activation } from '../../shared/swarm/activation.ts';
import { corroborate, matchClaim, type KnownClaim } from '../../shared/swarm/match.ts';
import { SAME_CLAIM_MIN_COSINE } from '../../shared/domain/similarity.ts';
import { loadMemory, saveMemory } from '../../shared/swarm/memory.ts';
import { proposeAdvance } from '../../shared/swarm/propose.ts';
import { reconcile } from '../../shared/swarm/reconcile.ts';
import { llmFor, services } from '../../shared/swarm/services.ts';

const AGENT = 'facts';
const DOC_KINDS = ['context_doc', 'resolution'] as const;
/** Impact of a risk on the scope's risk score, by severity; a mitigated risk counts half. */
export const RISK_DELTA = { low: 0.02, medium: 0.05, high: 0.08, critical: 0.2 } as const;

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

const docsOf = (n: { sourceRef: Record<string, unknown> }): string[] => (Array.isArray(n.sourceRef.docs) ? (n.sourceRef.docs as string[]) : []);

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
        await lockScope(tx, msg.scope);
        await digest(tx, msg.scope, await takePending(tx, msg.scope, batch));
      });
    }

    return ctx.commit(async (tx) => {
      await lockScope(tx, msg.scope);
      for (let i = 0; i < pending.length && i < pendingVectors.length; i++) await setEmbedding(tx, pending[i]!.nodeId, pendingVectors[i]!);
      let digested: DigestOutcome = { docs: 0, lastSeq: 0 };
      let mine = await takeResult(tx, msg.scope, msg.id);
      while (!mine) {
        const next = await takePending(tx, msg.scope, batch);
        if (!next.length) {
          throw new TransientError('facts_not_staged', `document ${doc.doc_id} of message ${msg.id} is neither staged nor digested`);
        }
        const out = await digest(tx, msg.scope, next);
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

const lockScope = (tx: PoolClient, scope: string) => tx.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`facts:${scope}`]);

const DigestResult = z.object({
  facts_sha: z.string(),
  tier: z.enum(['llm', 'fallback']),
  counts: z.object({
    claims: z.number(), goals: z.number(), risks: z.number(), contradictions_found: z.number(),
    contradictions_resolved: z.number(), goals_changed: z.number(), unembedded: z.number(),
  }),
  result: z.record(z.string(), z.unknown()),
});

interface DigestOutcome {
  docs: number;
  /** Context-log seq of the last document merged. */
  lastSeq: number;
  lastHash?: string;
}

/** Merge staged documents into the scope, in arrival order (the scope's facts lock is held). */
async function digest(tx: PoolClient, scope: string, queue: QueuedDocument[]): Promise<DigestOutcome> {
  let out: DigestOutcome = { docs: 0, lastSeq: 0 };
  for (const q of queue) {
    const r = await mergeDocument(tx, scope, q);
    await markDigested(tx, q.id, r.record);
    out = { docs: out.docs + 1, lastSeq: Math.max(out.lastSeq, r.seq), lastHash: r.record.facts_sha };
  }
  return out;
}

/** One document into the scope's context log, facts index and graph: what one document cost when read alone. */
async function mergeDocument(tx: PoolClient, scope: string, q: QueuedDocument): Promise<{ seq: number; record: z.infer<typeof DigestResult> }> {
  const { doc, tier, fallbackReason, terms, stored, embedError } = q.staged;
  const facts = q.staged.facts as unknown as DocumentFacts;
  const vectorOf = new Map(q.staged.vectors);
  const { seq } = await appendEvent(tx, {
    scope,
    kind: doc.kind === 'resolution' ? 'resolution' : 'context_doc',
    source: AGENT,
    messageId: q.messageId,
    payload: { doc_id: doc.doc_id, title: doc.title, text: doc.text, submitted_by: doc.submitted_by, extraction_tier: tier, ...(fallbackReason ? { fallback_reason: fallbackReason } : {}) },
  });
  const { version: factsSha } = await recordFactsDocument(tx, { scope, docId: doc.doc_id, seq, ...stored });
  await saveTerms(tx, scope, facts.acronyms, doc.doc_id);

  // Figures, revisions and goals against what the scope already knows.
  const r = await reconcile(tx, { scope, docId: doc.doc_id, agent: AGENT, facts, terms, vectors: { of: (t) => vectorOf.get(t) ?? null } });

  // Claims without a figure: the same sentence (or a near paraphrase) is the same claim.
  let unembedded = 0;
  const known: KnownClaim[] = [];
  for (let i = 0; i < facts.claims.length; i++) {
    const c = facts.claims[i]!;
    const v = vectorOf.get(c.text);
    const nodeId = r.claimNodes.get(i);
    if (nodeId) {
      if (v) await setEmbedding(tx, nodeId, v);
      else unembedded++;
      continue;
    }
    // A figure-less claim is matched only with figure-less claims: a changed number is not a paraphrase.
    const neighbours = v ? (await nearestClaims(tx, scope, v, { k: 3, minSimilarity: SAME_CLAIM_MIN_COSINE })).filter((n) => !n.node.metric).map((n) => ({ nodeId: n.node.nodeId, similarity: n.similarity, content: n.node.content })) : [];
    const m = matchClaim(c.text, [...known, ...(await figureFreeClaimsWithText(tx, scope, c.text)), ...neighbours], neighbours);
    const existing = m ? await getNode(tx, m.nodeId) : null;
    if (existing && !existing.metric) {
      await upsertNode(tx, {
        scope, kind: 'claim', nodeId: existing.nodeId, content: existing.content, createdBy: AGENT,
        confidence: corroborate(existing.confidence, c.confidence),
        sourceRef: { docs: [...new Set([...docsOf(existing), doc.doc_id])] },
        metadata: { [`restated_in_${doc.doc_id}`]: m!.by },
        ...(v && !existing.hasEmbedding ? { embedding: v } : {}),
      });
      continue;
    }
    const w = await upsertNode(tx, {
      scope, kind: 'claim', content: c.text, createdBy: AGENT, confidence: c.confidence, sourceDoc: doc.doc_id,
      sourceRef: { docs: [doc.doc_id] },
      metadata: { ...(c.section ? { section: c.section } : {}), ...(c.span ? { span: c.span } : {}) },
      ...(v ? { embedding: v } : {}),
    });
    if (!v) unembedded++;
    known.push({ nodeId: w.id, content: c.text });
  }

  for (const risk of facts.risks) {
    const node = await upsertNode(tx, { scope, kind: 'risk', content: risk.text, createdBy: AGENT, severity: risk.severity, sourceDoc: doc.doc_id, confidence: 0.8, ...(risk.mitigation ? { metadata: { mitigation: risk.mitigation } } : {}) });
    // The risk dimension reads assessments: each risk's estimated impact on the scope.
    const delta = RISK_DELTA[risk.severity] * (risk.mitigation ? 0.5 : 1);
    await upsertNode(tx, {
      scope, kind: 'assessment', content: `Impact of risk: ${risk.text}`, createdBy: AGENT, severity: risk.severity, sourceDoc: doc.doc_id, confidence: 0.8,
      metadata: { risk_delta: delta, risk_node_id: node.id, mitigated: Boolean(risk.mitigation) },
    });
  }

  const counts = {
    claims: facts.claims.length, goals: facts.goals.length, risks: facts.risks.length,
    contradictions_found: r.contradictionsFound, contradictions_resolved: r.contradictionsResolved,
    goals_changed: r.goalChanges.length, unembedded,
  };
  return {
    seq,
    record: {
      facts_sha: factsSha,
      tier,
      counts,
      result: { doc_id: doc.doc_id, tier, ...counts, figures_revised: r.figuresRevised, ...(facts.limits ? { extraction_limits: facts.limits } : {}), ...(facts.dropped ? { llm_dropped: facts.dropped } : {}), ...(embedError ? { embed_error: embedError.slice(0, 200) } : {}) },
    },
  };
}

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
