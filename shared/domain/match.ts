// Is a newly extracted claim without a figure one the graph already has? The same
// sentence (up to case and spacing) is; so is an embedding neighbour above a strict
// similarity. Claims that state figures are matched through the figures index
// instead (domain/figure-plan.ts), where a changed number is a contradiction, not a
// paraphrase. Pure decision over the candidates the caller found.

import { SAME_CLAIM_MIN_COSINE } from './similarity.ts';

export interface KnownClaim {
  nodeId: string;
  content: string;
}


const norm = (s: string) => s.toLowerCase().replace(/\s+/g, ' ').replace(/[.;,]$/, '').trim();

export function matchClaim(content: string, known: readonly KnownClaim[], neighbours: readonly { nodeId: string; similarity: number }[] = []): { nodeId: string; by: 'text' | 'embedding' } | null {
  const text = known.find((k) => norm(k.content) === norm(content));
  if (text) return { nodeId: text.nodeId, by: 'text' };
  const best = [...neighbours].sort((a, b) => b.similarity - a.similarity)[0];
  if (best && best.similarity >= SAME_CLAIM_MIN_COSINE && known.some((k) => k.nodeId === best.nodeId)) return { nodeId: best.nodeId, by: 'embedding' };
  return null;
}

/** Corroboration: a restated fact becomes more certain, never less. */
export function corroborate(existing: number, incoming: number): number {
  return Math.min(0.99, Math.max(existing, 1 - (1 - existing) * (1 - incoming * 0.5)));
}
