// Contradictions between documents: the same subject and metric (for a
// compatible period) stated with values that do not agree, in different
// documents. And resolutions: a later revision or reconciliation that names the
// contested values. Pure functions over statements.
import type { Revision, Statement, Value } from './extract.ts';

export interface SourcedStatement {
  /** Caller's id for the statement (a graph node id, or an index). */
  id: string;
  doc: string;
  statement: Statement;
}

export interface ContradictionSide {
  value: Value;
  ids: string[];
  docs: string[];
}

export interface Contradiction {
  subject: string;
  metric: string;
  period?: string;
  sides: [ContradictionSide, ContradictionSide];
}

function periodsCompatible(a?: string, b?: string): boolean {
  if (!a || !b) return true;
  return a === b || a.split(' ')[0] === b.split(' ')[0];
}

export function sameFigure(a: Statement, b: Statement): boolean {
  return a.subject === b.subject && a.metric === b.metric && periodsCompatible(a.period, b.period);
}

/** Do two stated values agree? Ranges agree when they overlap; approximations get 10 %. */
export function valuesAgree(a: Value, b: Value): boolean {
  const [alo, ahi] = [a.value, a.high ?? a.value];
  const [blo, bhi] = [b.value, b.high ?? b.value];
  const tol = a.approx || b.approx ? 0.1 : 0.01;
  const slack = tol * Math.max(Math.abs(ahi), Math.abs(bhi), 1e-9);
  return alo <= bhi + slack && blo <= ahi + slack;
}

/** A value agrees with a plain number (a revision's from/to). */
export function valueMatches(v: Value, n: number): boolean {
  return valuesAgree(v, { kind: v.kind, value: n });
}

/**
 * Group statements of the same figure into clusters of agreeing values; any two
 * clusters backed by different documents are a contradiction.
 */
export function findContradictions(statements: SourcedStatement[]): Contradiction[] {
  const groups = new Map<string, SourcedStatement[]>();
  for (const s of statements) {
    const k = `${s.statement.subject}\u0000${s.statement.metric}`;
    groups.set(k, [...(groups.get(k) ?? []), s]);
  }
  const out: Contradiction[] = [];
  for (const group of groups.values()) {
    const clusters: { value: Value; members: SourcedStatement[] }[] = [];
    for (const s of group) {
      const c = clusters.find((c) => valuesAgree(c.value, s.statement.value) && c.members.some((m) => sameFigure(m.statement, s.statement)));
      if (c) c.members.push(s);
      else clusters.push({ value: s.statement.value, members: [s] });
    }
    for (let i = 0; i < clusters.length; i++) {
      for (let j = i + 1; j < clusters.length; j++) {
        const a = clusters[i]!;
        const b = clusters[j]!;
        const pairs = a.members.flatMap((x) => b.members.filter((y) => y.doc !== x.doc && sameFigure(x.statement, y.statement)).map((y) => [x, y] as const));
        if (!pairs.length) continue;
        const side = (c: typeof a): ContradictionSide => ({
          value: c.value,
          ids: [...new Set(c.members.map((m) => m.id))],
          docs: [...new Set(c.members.map((m) => m.doc))],
        });
        const period = pairs.map(([x, y]) => x.statement.period ?? y.statement.period).find(Boolean);
        out.push({ subject: a.members[0]!.statement.subject, metric: a.members[0]!.statement.metric, ...(period ? { period } : {}), sides: [side(a), side(b)] });
      }
    }
  }
  return out;
}

/**
 * A revision resolves a contradiction when it is about the same figure and names
 * the contested values: "from 20 to 15", or a reconciliation mentioning both.
 */
export function resolves(rev: Revision, c: Contradiction): boolean {
  if (rev.subject !== c.subject || rev.metric !== c.metric || !periodsCompatible(rev.period, c.period)) return false;
  const [a, b] = c.sides;
  const named = (side: ContradictionSide) => rev.values.some((v) => valueMatches(side.value, v));
  if (rev.from !== undefined && rev.to !== undefined) {
    return (valueMatches(a.value, rev.from) && valueMatches(b.value, rev.to)) || (valueMatches(b.value, rev.from) && valueMatches(a.value, rev.to));
  }
  return named(a) && named(b);
}

/** The value a resolution accepts, if it says ("to 15"). */
export function acceptedValue(rev: Revision, c: Contradiction): ContradictionSide | undefined {
  if (rev.to === undefined) return undefined;
  return c.sides.find((s) => valueMatches(s.value, rev.to!));
}
