// The texts the facts step embeds for one document, as a pure function: the step
// (functions/facts) uses it, and the end-to-end bench (test/bench/suites/e2e.ts) embeds
// exactly that work without the rest of the step.
import { subjectText } from './compare.ts';
import type { DocumentFacts } from './extract.ts';

/** Texts embedded per document at most (claims, subjects, goals): the rest are matched lexically. */
export const MAX_EMBED_TEXTS = 512;

/**
 * Claim sentences, figure subjects and revisions (acronyms spelled out with `terms`: the
 * scope's known terms merged with the document's own), goals and goal updates; unique,
 * in that order, at most MAX_EMBED_TEXTS.
 */
export function textsToEmbed(facts: Pick<DocumentFacts, 'claims' | 'revisions' | 'goals' | 'goalUpdates'>, terms: Readonly<Record<string, string>>): string[] {
  return [
    ...new Set([
      ...facts.claims.map((c) => c.text),
      ...facts.claims.flatMap((c) => (c.statement ? [subjectText(c.statement, terms)] : [])),
      ...facts.revisions.map((r) => subjectText(r, terms)),
      ...facts.goals.map((g) => g.text),
      ...facts.goalUpdates.map((u) => u.text),
    ]),
  ].slice(0, MAX_EMBED_TEXTS);
}

/**
 * A scope's terms after a document is recorded, as saveTerms leaves them in the
 * database (the first definition of a term stands; at most 200 per document; term
 * and expansion cut to 20 and 200 characters).
 */
export function addTerms(known: Readonly<Record<string, string>>, acronyms: Readonly<Record<string, string>>): Record<string, string> {
  const out = { ...known };
  for (const [term, expansion] of Object.entries(acronyms).slice(0, 200)) {
    const t = term.slice(0, 20);
    if (!(t in out)) out[t] = expansion.slice(0, 200);
  }
  return out;
}
