// Is a newly extracted claim one the graph already has? Pure decision over the
// candidates the caller found: the same figure (subject, metric, period) with an
// agreeing value is the same fact restated; so is the same sentence. An embedding
// neighbour only counts when the figures agree too (a changed number scores
// *higher* than most paraphrases with all-MiniLM-L6-v2), or, for claims without a
// figure, above a strict similarity.
import { sameFigure, valuesAgree } from '../extract/contradictions.ts';
import type { Statement } from '../extract/extract.ts';

export interface KnownClaim {
  nodeId: string;
  content: string;
  statement?: Statement;
}

export interface Candidate {
  content: string;
  statement?: Statement;
}

/** Cosine at which two claims without figures are the same claim (measured: restatements 0.64-0.95, related but different facts up to 0.90). */
export const SAME_CLAIM_MIN_COSINE = 0.9;
/** Cosine from which a neighbour with an agreeing figure is accepted as a restatement. */
export const SAME_FIGURE_MIN_COSINE = 0.6;

const norm = (s: string) => s.toLowerCase().replace(/\s+/g, ' ').replace(/[.;,]$/, '').trim();

export function sameStatement(a: Statement, b: Statement): boolean {
  return sameFigure(a, b) && valuesAgree(a.value, b.value);
}

export function matchClaim(c: Candidate, known: readonly KnownClaim[], neighbours: readonly { nodeId: string; similarity: number }[] = []): { nodeId: string; by: 'text' | 'figure' | 'embedding' } | null {
  const text = known.find((k) => norm(k.content) === norm(c.content) && (!c.statement || !k.statement || sameStatement(c.statement, k.statement)));
  if (text) return { nodeId: text.nodeId, by: 'text' };
  if (c.statement) {
    const fig = known.find((k) => k.statement && sameStatement(c.statement!, k.statement));
    if (fig) return { nodeId: fig.nodeId, by: 'figure' };
  }
  for (const n of [...neighbours].sort((a, b) => b.similarity - a.similarity)) {
    const k = known.find((x) => x.nodeId === n.nodeId);
    if (!k) continue;
    if (c.statement && k.statement) {
      if (n.similarity >= SAME_FIGURE_MIN_COSINE && sameStatement(c.statement, k.statement)) return { nodeId: k.nodeId, by: 'embedding' };
    } else if (!c.statement && !k.statement && n.similarity >= SAME_CLAIM_MIN_COSINE) {
      return { nodeId: k.nodeId, by: 'embedding' };
    }
  }
  return null;
}

/** Corroboration: a restated fact becomes more certain, never less. */
export function corroborate(existing: number, incoming: number): number {
  return Math.min(0.99, Math.max(existing, 1 - (1 - existing) * (1 - incoming * 0.5)));
}
