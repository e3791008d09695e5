// Deterministic drift: compare the facts before and after the latest documents.
// Types (reference §1.2): factual (a figure was restated with another value),
// goal (the goal set changed), contradiction (open contradictions), entropy (the
// evidence is getting noisier: many new risks, or confidence falling).
// Unlike the earlier heuristic, figures are compared by unit, period and subject, not
// by any shared word, so "ARR €50M" and "ARR growth 45%" are not a discrepancy. Drift
// reads the facts snapshots only (no vectors): subjects are compared by their words.
import { formatValue, sameFigure, similarity, valuesAgree } from '../extract/compare.ts';
import type { DocumentFacts, Statement } from '../extract/extract.ts';
import type { FactsSnapshot } from '../domain/facts-doc.ts';

export type DriftLevel = 'none' | 'low' | 'medium' | 'high' | 'critical';
export type DriftType = 'factual' | 'goal' | 'contradiction' | 'entropy';

export interface DriftReport {
  level: DriftLevel;
  types: DriftType[];
  notes: string[];
  references: { type: DriftType; doc?: string; excerpt?: string }[];
}

export interface DriftInput {
  previous: FactsSnapshot | null;
  current: FactsSnapshot;
  /** Open (unresolved) contradictions in the graph now, and how many appeared since the previous version. */
  openContradictions: number;
  newContradictions: number;
}

const all = (a: FactsSnapshot | null) => (a ? a.order.map((id) => ({ id, facts: a.documents[id]!.facts as DocumentFacts })) : []);
const figures = (docs: { id: string; facts: DocumentFacts }[]) =>
  docs.flatMap((d) => d.facts.claims.filter((c) => c.statement).map((c) => ({ doc: d.id, text: c.text, s: c.statement as Statement })));
/** New risks in one step that count as the evidence falling apart (a risk register of three is normal). */
export const ENTROPY_RISK_BURST = 5;
const avg = (xs: number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : 1);

export function assessDrift(input: DriftInput): DriftReport {
  const before = all(input.previous);
  const after = all(input.current);
  const added = after.filter((d) => !before.some((b) => b.id === d.id));
  const types = new Set<DriftType>();
  const notes: string[] = [];
  const references: DriftReport['references'] = [];

  if (!input.previous || before.length === 0) {
    notes.push('initial snapshot');
  }

  // factual: a figure already known is stated with a value that does not agree.
  const known = figures(before);
  for (const f of figures(added)) {
    const clash = known.find((k) => sameFigure(k.s, f.s, similarity({ text: k.s.subject }, { text: f.s.subject })) && !valuesAgree(k.s.value, f.s.value, { targets: k.s.role === 'target' && f.s.role === 'target' }));
    if (clash) {
      types.add('factual');
      notes.push(`${f.s.subject} (${f.s.metric}${f.s.period ? ', ' + f.s.period : ''}): ${formatValue(clash.s.value)} in ${clash.doc}, ${formatValue(f.s.value)} in ${f.doc}`);
      references.push({ type: 'factual', doc: f.doc, excerpt: f.text.slice(0, 200) });
    }
  }

  if (input.openContradictions > 0) {
    types.add('contradiction');
    notes.push(`${input.openContradictions} open contradiction(s), ${input.newContradictions} new`);
  }

  // goal: new documents add goals to an existing goal set.
  const goalsBefore = new Set(before.flatMap((d) => d.facts.goals.map((g) => g.text.toLowerCase())));
  const newGoals = added.flatMap((d) => d.facts.goals.filter((g) => !goalsBefore.has(g.text.toLowerCase())).map((g) => ({ doc: d.id, text: g.text })));
  if (goalsBefore.size > 0 && newGoals.length > 0) {
    types.add('goal');
    notes.push(`${newGoals.length} new goal(s)`);
    for (const g of newGoals.slice(0, 5)) references.push({ type: 'goal', doc: g.doc, excerpt: g.text.slice(0, 200) });
  }

  // entropy: a burst of new risks, or claims getting less certain.
  const newRisks = added.flatMap((d) => d.facts.risks);
  const confBefore = avg(before.flatMap((d) => d.facts.claims.map((c) => c.confidence)));
  const confAfter = avg(after.flatMap((d) => d.facts.claims.map((c) => c.confidence)));
  if (newRisks.length >= ENTROPY_RISK_BURST || (before.length > 0 && confAfter < confBefore - 0.05)) {
    types.add('entropy');
    notes.push(newRisks.length >= ENTROPY_RISK_BURST ? `${newRisks.length} new risks` : `average claim confidence fell from ${confBefore.toFixed(2)} to ${confAfter.toFixed(2)}`);
  }

  const t = [...types].sort();
  let level: DriftLevel = 'none';
  if (input.openContradictions >= 3) level = 'critical';
  else if (input.newContradictions > 0 || t.length >= 3) level = 'high';
  else if (types.has('contradiction') || t.length === 2) level = 'medium';
  else if (t.length === 1) level = 'low';
  return { level, types: t, notes, references };
}
