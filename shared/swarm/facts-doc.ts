// The facts artifact in S3 (scopes/<scope>/facts/...): every document's extracted
// facts, keyed by doc id. Each version is the previous one plus one document, so
// drift can compare any two versions and a re-run produces the same bytes.
import { z } from 'zod';
import type { DocumentFacts } from '../extract/extract.ts';

export interface FactsArtifact {
  version: 1;
  scope: string;
  /** Document ids in arrival order. */
  order: string[];
  documents: Record<string, { title: string; kind: 'document' | 'resolution'; tier: 'llm' | 'fallback'; facts: DocumentFacts }>;
}

export const FactsArtifactSchema = z.looseObject({
  version: z.literal(1),
  scope: z.string(),
  order: z.array(z.string()),
  documents: z.record(z.string(), z.looseObject({ title: z.string(), kind: z.enum(['document', 'resolution']), tier: z.enum(['llm', 'fallback']), facts: z.any() })),
});

export function emptyFacts(scope: string): FactsArtifact {
  return { version: 1, scope, order: [], documents: {} };
}

export function withDocument(prev: FactsArtifact, docId: string, entry: FactsArtifact['documents'][string]): FactsArtifact {
  return {
    ...prev,
    order: prev.order.includes(docId) ? prev.order : [...prev.order, docId],
    documents: { ...prev.documents, [docId]: entry },
  };
}
