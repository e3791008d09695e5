// The facts step's reading of one document, outside any transaction and lock: extraction
// (the LLM, or the offline extractor in a worker thread with a deadline, EXTRACT_*, so a
// pathological document cannot block the event loop), one embedding call, and the
// document's facts object in S3. What it returns is staged (store/facts-queue.ts) for
// whoever holds the scope's lock to merge (swarm/facts-digest.ts).
import type { Envelope } from '../contract/envelope.ts';
import { PermanentError } from '../contract/errors.ts';
import { payloadOf } from '../contract/messages.ts';
import { textsToEmbed } from '../extract/embed-texts.ts';
import type { DocumentFacts } from '../extract/extract.ts';
import { assertDocumentSize, limitsFromEnv } from '../extract/limits.ts';
import { extractOffline } from '../extract/pool.ts';
import { extractFactsWithLlm } from '../llm/facts-agent.ts';
import { withLlm } from '../llm/run.ts';
import type { StepContext } from '../runtime/step.ts';
import { appendEvent } from '../store/context-log.ts';
import type { StagedDocument } from '../store/facts-queue.ts';
import { loadTerms } from '../store/figures.ts';
import { unembeddedClaims } from '../store/graph.ts';
import { llmFor } from '../llm/run.ts';

export interface ReadDocument {
  staged: StagedDocument;
  /** Claims stored earlier without a vector, with the vectors the worker gave them now. */
  reembed: { nodeId: string; vector: number[] }[];
}

export async function readDocument(msg: Envelope, ctx: Pick<StepContext, 'deps' | 'signal' | 'log'>, agent: string): Promise<ReadDocument> {
  const doc = payloadOf('doc.submitted', msg.payload);
  const { deps } = ctx;
  const { db, env } = deps;
  const limits = limitsFromEnv(env);
  let extracted: Awaited<ReturnType<typeof withLlm<DocumentFacts>>>;
  try {
    assertDocumentSize(doc.text, limits);
    extracted = await withLlm<DocumentFacts>({
      step: 'facts',
      ...llmFor(deps, 'facts'),
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
        source: agent,
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
  if (deps.embeddings.enabled && texts.length) {
    try {
      const out = await deps.embeddings.embed(texts, { signal: ctx.signal });
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
      pendingVectors = (await deps.embeddings.embed(pending.map((n) => n.content), { signal: ctx.signal })).vectors;
    } catch {
      pendingVectors = [];
    }
  }
  const reembed = pending.slice(0, pendingVectors.length).map((n, i) => ({ nodeId: n.nodeId, vector: pendingVectors[i]! }));

  // This document's facts, an object of its own (immutable, same bytes on a retry); listed in facts_documents when digested.
  const stored = await deps.factsObjects.put(msg.scope, doc.doc_id, { title: doc.title, kind: doc.kind, tier: extracted.tier, facts });
  return {
    staged: {
      doc: { doc_id: doc.doc_id, title: doc.title, text: doc.text, kind: doc.kind, submitted_by: doc.submitted_by },
      tier: extracted.tier,
      ...(extracted.fallbackReason ? { fallbackReason: extracted.fallbackReason } : {}),
      facts: facts as unknown as Record<string, unknown>,
      terms,
      vectors: [...vectorOf],
      ...(embedError ? { embedError } : {}),
      stored,
    },
    reembed,
  };
}
