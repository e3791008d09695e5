// The facts step's queue of read documents waiting to be merged into their scope
// (migrations/013_facts_queue.sql). Rows are staged without a lock; they are taken,
// in arrival order, only by a transaction holding the scope's facts lock.
import { z } from 'zod';
import type { Queryable } from '../adapters/db.ts';
import type { Tx } from './db.ts';
import { num } from './db.ts';

/** Everything the merge needs, so that whoever holds the lock can digest a document it did not read. */
export const StagedDocument = z.object({
  doc: z.object({ doc_id: z.string(), title: z.string(), text: z.string(), kind: z.string(), submitted_by: z.string() }),
  tier: z.enum(['llm', 'fallback']),
  fallbackReason: z.string().optional(),
  // DocumentFacts, written by this process a moment ago; its shape is the extractor's contract.
  facts: z.record(z.string(), z.unknown()),
  /** The scope's terms when the document was read (its subjects were embedded under them). */
  terms: z.record(z.string(), z.string()),
  /** [text, vector] for every text embedded. */
  vectors: z.array(z.tuple([z.string(), z.array(z.number())])),
  embedError: z.string().optional(),
  stored: z.object({ key: z.string(), hash: z.string(), bytes: z.number() }),
});
export type StagedDocument = z.infer<typeof StagedDocument>;

export interface QueuedDocument {
  id: number;
  messageId: string;
  staged: StagedDocument;
}

/** Stage a document for its message; a redelivery finds the row already there and leaves it. Returns the row's id. */
export async function stageDocument(db: Queryable, scope: string, messageId: string, staged: StagedDocument): Promise<number> {
  const { rows } = await db.query<{ id: string }>(
    `WITH ins AS (
       INSERT INTO facts_queue (scope_id, message_id, doc_id, staged) VALUES ($1, $2, $3, $4::jsonb)
       ON CONFLICT (scope_id, message_id) DO NOTHING RETURNING id)
     SELECT id FROM ins UNION ALL SELECT id FROM facts_queue WHERE scope_id = $1 AND message_id = $2 LIMIT 1`,
    [scope, messageId, staged.doc.doc_id, JSON.stringify(staged)],
  );
  return num(rows[0]!.id);
}

/** Staged documents of the scope that arrived before row `id` and wait for a digest. */
export async function pendingBefore(db: Queryable, scope: string, id: number): Promise<number> {
  const { rows } = await db.query<{ n: string }>(
    `SELECT count(*) AS n FROM facts_queue WHERE scope_id = $1 AND digested_at IS NULL AND id < $2`,
    [scope, id],
  );
  return num(rows[0]!.n);
}

/** The next `limit` waiting documents of the scope, oldest first. Call with the scope's facts lock held. */
export async function takePending(tx: Tx, scope: string, limit: number): Promise<QueuedDocument[]> {
  const { rows } = await tx.query<{ id: string; message_id: string; staged: unknown }>(
    `SELECT id, message_id, staged FROM facts_queue WHERE scope_id = $1 AND digested_at IS NULL ORDER BY id LIMIT $2`,
    [scope, limit],
  );
  return rows.map((r) => ({ id: num(r.id), messageId: r.message_id, staged: StagedDocument.parse(r.staged) }));
}

/** Record what the digest did for a document; its staged copy is no longer needed. */
export async function markDigested(tx: Tx, id: number, result: Record<string, unknown>): Promise<void> {
  await tx.query(`UPDATE facts_queue SET staged = NULL, result = $2::jsonb, digested_at = now() WHERE id = $1`, [id, JSON.stringify(result)]);
}

/**
 * The digest result of the message's document, removing its row (call in the transaction
 * that completes the message). undefined: not digested yet, or no row.
 */
export async function takeResult(tx: Tx, scope: string, messageId: string): Promise<Record<string, unknown> | undefined> {
  const { rows } = await tx.query<{ result: Record<string, unknown> }>(
    `DELETE FROM facts_queue WHERE scope_id = $1 AND message_id = $2 AND digested_at IS NOT NULL RETURNING result`,
    [scope, messageId],
  );
  return rows[0]?.result;
}

/** The scope's facts lock, held until the transaction ends: one merge into a scope at a time. */
export async function lockFactsScope(tx: Tx, scope: string): Promise<void> {
  await tx.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`facts:${scope}`]);
}
