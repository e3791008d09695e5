// A scope's facts: every document's extracted facts, keyed by doc id, in arrival order.
// Stored as one immutable S3 object per document version (shared/store/facts-documents.ts)
// listed by the facts_documents table (migration 009); a snapshot is assembled from them
// for the readers (drift). Before migration 009 the whole snapshot was one S3 object
// rewritten per document (scopes/<scope>/facts/<sha>.json + latest.json): storage grew
// with the square of the scope, and writers raced on its compare-and-swap.
import { createHash } from 'node:crypto';
import { z } from 'zod';
import type { DocumentFacts } from '../extract/extract.ts';

export interface FactsEntry {
  title: string;
  kind: 'document' | 'resolution';
  tier: 'llm' | 'fallback';
  facts: DocumentFacts;
}

/** The bytes of one per-document object (format 2; format 1 was the whole-scope artifact). */
export interface FactsDocumentObject extends FactsEntry {
  format: 2;
  scope: string;
  doc_id: string;
}

export const FactsDocumentObjectSchema = z.looseObject({
  format: z.literal(2),
  scope: z.string(),
  doc_id: z.string(),
  title: z.string(),
  kind: z.enum(['document', 'resolution']),
  tier: z.enum(['llm', 'fallback']),
  facts: z.any(),
});

/** The scope's facts as of one version, as the readers see them. */
export interface FactsSnapshot {
  scope: string;
  /** The facts version (hash chain over the index rows, see nextFactsVersion). */
  version: string;
  /** Document ids in arrival order. */
  order: string[];
  documents: Record<string, FactsEntry>;
}

export const emptySnapshot = (scope: string, version: string): FactsSnapshot => ({ scope, version, order: [], documents: {} });

/**
 * The scope's facts version after adding (docId, hash) to the version `prev`. A hash
 * chain, so the same documents with the same facts in the same order always give the
 * same version, and any change gives another: what drift's activation compares.
 */
export function nextFactsVersion(prev: string | null, docId: string, hash: string): string {
  return createHash('sha256').update(`${prev ?? ''}\n${docId}\n${hash}`, 'utf8').digest('hex');
}

export interface FactsIndexRow {
  docId: string;
  key: string;
  hash: string;
  seq: number;
}

/**
 * Which row of each document counts as of seq `asOf`: the latest one at or before it;
 * documents in the order they first arrived. Pure (the rows come from facts_documents).
 */
export function snapshotRows(rows: readonly FactsIndexRow[], asOf: number): FactsIndexRow[] {
  const first = new Map<string, number>();
  const latest = new Map<string, FactsIndexRow>();
  for (const r of [...rows].sort((a, b) => a.seq - b.seq)) {
    if (r.seq > asOf) break;
    if (!first.has(r.docId)) first.set(r.docId, r.seq);
    latest.set(r.docId, r);
  }
  return [...latest.values()].sort((a, b) => first.get(a.docId)! - first.get(b.docId)!);
}
