// A document's revisions, before its figures: each settles the open contradictions
// near its subject that it names (extract/compare.ts settles), retiring the rejected
// value's figures, and "from A to B" retires the figures of the old value even with no
// dispute on record. Pure: the caller reads, per revision and before any write, the
// disputes near its subject (store/document-read.ts); a dispute this document already
// settled is skipped, as the query run after that write would have, and the read took
// that many more so that the list is the same.
import { settles, similarity, subjectText, valuesAgree, sameFigure, type ContestedFigure } from '../extract/compare.ts';
import type { Revision } from '../extract/extract.ts';
import type { Statement } from '../extract/types.ts';
import { CANDIDATE_FIGURES, unretired, type CandidateRead, type FigureFact, type Vectors } from './figure-plan.ts';
import type { ContradictionMeta, GraphOp } from './graph-ops.ts';

/** Figures near a revision's subject looked at for the disputes it may settle (see store/document-read.ts). */
export const REVISION_CANDIDATE_FIGURES = 48;
/** Open contradictions of those figures' claims looked at, at most. */
export const REVISION_CANDIDATE_CONTRADICTIONS = 500;

export interface OpenDispute {
  edgeId: string;
  sourceId: string;
  targetId: string;
  metadata: Record<string, unknown>;
}

export interface RevisionRead {
  /** Open contradictions touching the figures nearest its subject, oldest first (REVISION_CANDIDATE_CONTRADICTIONS, plus those earlier revisions may settle). */
  open: OpenDispute[];
  /** Every figure of those contradictions' claims, by node. */
  figuresOf: ReadonlyMap<string, FigureFact[]>;
  /** A revision "from A to B": the current figures nearest its subject, with room for the ones retired before. */
  retire?: CandidateRead;
}

export interface RevisionsPlan {
  ops: GraphOp[];
  /** Figures this document retires: later lookups no longer return them. */
  retired: Set<number>;
  /** Disputes it settles: later revisions' lookups of open ones no longer return them. */
  settled: Set<string>;
  contradictionsResolved: number;
  figuresRevised: number;
}

/** Does a revision retire the old value's figures ("revised from 62M to 71M")? */
export const retiresOldValue = (rev: Revision) => !!(rev.from && rev.to && rev.kind !== 'replacement');

export function planRevisions(
  doc: { docId: string; revisions: readonly Revision[]; terms: Readonly<Record<string, string>>; vectors: Vectors },
  reads: readonly RevisionRead[],
): RevisionsPlan {
  const out: RevisionsPlan = { ops: [], retired: new Set(), settled: new Set(), contradictionsResolved: 0, figuresRevised: 0 };
  const retire = (ids: number[]) => {
    if (ids.length) out.ops.push({ op: 'retire', figureIds: ids });
    ids.forEach((id) => out.retired.add(id));
    out.figuresRevised += ids.length;
  };
  const settled = out.settled;
  doc.revisions.forEach((rev, k) => {
    const read = reads[k]!;
    const revText = subjectText(rev, doc.terms);
    const revSaid = { text: revText, vector: doc.vectors.of(revText) };
    // The open ones as the query would return them now: what this document settled is no longer open.
    const open = read.open
      .filter((e) => !settled.has(e.edgeId))
      .slice(0, REVISION_CANDIDATE_CONTRADICTIONS)
      .filter((e) => {
        const m = e.metadata as unknown as ContradictionMeta;
        return Array.isArray(m.sides) && m.sides.length === 2;
      });
    for (const e of open) {
      const meta = e.metadata as unknown as ContradictionMeta;
      const mine = [...(read.figuresOf.get(e.sourceId) ?? []), ...(read.figuresOf.get(e.targetId) ?? [])];
      const best = mine.map((f) => similarity(revSaid, { text: f.subjectText, vector: f.vector })).sort((a, b) => b.score - a.score)[0] ?? similarity(revSaid, { text: meta.subject });
      const contested: ContestedFigure = { metric: meta.metric, subject: meta.subject, ...(meta.period ? { period: meta.period } : {}), sides: [meta.sides[0]!.value, meta.sides[1]!.value] };
      const s = settles(rev, contested, best);
      if (!s) continue;
      const accepted = meta.sides[s.accepted]!;
      const rejected = meta.sides[1 - s.accepted]!;
      out.ops.push({
        op: 'resolve', sourceId: e.sourceId, targetId: e.targetId,
        resolution: { doc: doc.docId, how: s.how, accepted_node: accepted.node_id, accepted: accepted.display, text: rev.text.slice(0, 1000), span: rev.span ?? null },
      });
      // The rejected value is retired: it no longer contradicts what comes next.
      retire(mine.filter((f) => f.nodeId === rejected.node_id).map((f) => f.figureId));
      settled.add(e.edgeId);
      out.contradictionsResolved++;
    }
    // "Budget revised from 62M to 71M" with no dispute on record: the old value is retired all the same.
    if (retiresOldValue(rev)) {
      const to: Statement = { subject: rev.subject, metric: rev.metric, ...(rev.period ? { period: rev.period } : {}), value: rev.to!, surface: '' };
      const candidates = unretired(read.retire!, out.retired, CANDIDATE_FIGURES, !!revSaid.vector);
      retire(
        candidates
          .filter((f) => valuesAgree(f.statement.value, rev.from!) && !valuesAgree(f.statement.value, rev.to!))
          .filter((f) => sameFigure(to, f.statement, similarity(revSaid, { text: f.subjectText, vector: f.vector })))
          .map((f) => f.figureId),
      );
    }
  });
  return out;
}
