// The facts step's merge: staged documents into their scope's context log, facts
// index and graph, in arrival order, by whoever holds the scope's facts lock. Each
// document is read against its scope once (store/document-read.ts), planned
// (domain/document-plan.ts: revisions, figures, goals, other claims, risks) and
// written in order (store/graph.ts applyGraphOps).
import { z } from 'zod';
import { planDocument } from '../domain/document-plan.ts';
import type { DocumentFacts } from '../extract/extract.ts';
import { appendEvent } from '../store/context-log.ts';
import { TransientError } from '../contract/errors.ts';
import { inTransaction, type Db, type Tx } from '../store/db.ts';
import { recordFactsDocument } from '../store/facts-documents.ts';
import { lockFactsScope, markDigested, pendingBefore, takePending, takeResult, type QueuedDocument } from '../store/facts-queue.ts';
import { saveTerms } from '../store/figures.ts';
import { readDocumentForPlan } from '../store/document-read.ts';
import { applyGraphOps } from '../store/graph.ts';

/** What merging one document produced: the facts.extracted counts and the step's result. */
export const DigestResult = z.object({
  facts_sha: z.string(),
  tier: z.enum(['llm', 'fallback']),
  counts: z.object({
    claims: z.number(), goals: z.number(), risks: z.number(), contradictions_found: z.number(),
    contradictions_resolved: z.number(), goals_changed: z.number(), unembedded: z.number(),
  }),
  result: z.record(z.string(), z.unknown()),
});
export type DigestResult = z.infer<typeof DigestResult>;

export interface DigestOutcome {
  docs: number;
  /** Context-log seq of the last document merged. */
  lastSeq: number;
  lastHash?: string;
}

/** Merge staged documents into the scope, in arrival order (the scope's facts lock is held). */
export async function digest(tx: Tx, scope: string, agent: string, queue: QueuedDocument[]): Promise<DigestOutcome> {
  let out: DigestOutcome = { docs: 0, lastSeq: 0 };
  for (const q of queue) {
    const r = await mergeDocument(tx, scope, agent, q);
    await markDigested(tx, q.id, r.record);
    out = { docs: out.docs + 1, lastSeq: Math.max(out.lastSeq, r.seq), lastHash: r.record.facts_sha };
  }
  return out;
}

/** One document into the scope's context log, facts index and graph: what one document cost when read alone. */
async function mergeDocument(tx: Tx, scope: string, agent: string, q: QueuedDocument): Promise<{ seq: number; record: DigestResult }> {
  const { doc, tier, fallbackReason, terms, stored, embedError } = q.staged;
  const facts = q.staged.facts as unknown as DocumentFacts;
  const vectorOf = new Map(q.staged.vectors);
  const { seq } = await appendEvent(tx, {
    scope,
    kind: doc.kind === 'resolution' ? 'resolution' : 'context_doc',
    source: agent,
    messageId: q.messageId,
    payload: { doc_id: doc.doc_id, title: doc.title, text: doc.text, submitted_by: doc.submitted_by, extraction_tier: tier, ...(fallbackReason ? { fallback_reason: fallbackReason } : {}) },
  });
  const { version: factsSha } = await recordFactsDocument(tx, { scope, docId: doc.doc_id, seq, ...stored });
  await saveTerms(tx, scope, facts.acronyms, doc.doc_id);

  // What the scope already knows, read once; then the document's writes, in order.
  const input = { docId: doc.doc_id, facts, terms, vectors: { of: (t: string) => vectorOf.get(t) ?? null } };
  const plan = planDocument(input, await readDocumentForPlan(tx, scope, input));
  const { unembedded, contradictionsFound } = await applyGraphOps(tx, scope, agent, plan);

  const counts = {
    claims: facts.claims.length, goals: facts.goals.length, risks: facts.risks.length,
    contradictions_found: contradictionsFound, contradictions_resolved: plan.contradictionsResolved,
    goals_changed: plan.goalChanges.length, unembedded,
  };
  return {
    seq,
    record: {
      facts_sha: factsSha,
      tier,
      counts,
      result: { doc_id: doc.doc_id, tier, ...counts, figures_revised: plan.figuresRevised, ...(facts.limits ? { extraction_limits: facts.limits } : {}), ...(facts.dropped ? { llm_dropped: facts.dropped } : {}), ...(embedError ? { embed_error: embedError.slice(0, 200) } : {}) },
    },
  };
}

/** A backlog ahead of this document (a burst, a crash's leftovers) is digested in batches of their own, one transaction each. */
export async function digestBacklog(db: Db, scope: string, agent: string, row: number, batch: number): Promise<void> {
  while ((await pendingBefore(db, scope, row)) >= batch) {
    await inTransaction(db, async (tx) => {
      await lockFactsScope(tx, scope);
      await digest(tx, scope, agent, await takePending(tx, scope, batch));
    });
  }
}

/**
 * Digest staged documents (the caller holds the scope's lock) until this message's is
 * merged, and return its result with what this run merged: documents that arrived
 * together are merged by one run, and the others find their work done.
 */
export async function digestThrough(tx: Tx, scope: string, agent: string, mineOf: { messageId: string; docId: string }, batch: number): Promise<{ mine: DigestResult; digested: DigestOutcome }> {
  let digested: DigestOutcome = { docs: 0, lastSeq: 0 };
  const { messageId, docId } = mineOf;
  let mine = await takeResult(tx, scope, messageId);
  while (!mine) {
    const next = await takePending(tx, scope, batch);
    if (!next.length) throw new TransientError('facts_not_staged', `document ${docId} of message ${messageId} is neither staged nor digested`);
    const out = await digest(tx, scope, agent, next);
    digested = { docs: digested.docs + out.docs, lastSeq: Math.max(digested.lastSeq, out.lastSeq), lastHash: out.lastHash ?? digested.lastHash };
    mine = await takeResult(tx, scope, messageId);
  }
  return { mine: DigestResult.parse(mine), digested };
}
