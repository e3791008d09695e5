// The offline facts extractor: a plain-text document → claims (with quantities,
// periods and subjects), goals, risks, assumptions and revisions. Deterministic,
// no network: the fallback for the LLM extraction step, and the default.
import {
  DEFAULT_UNIT,
  GOAL_WORDS,
  GUIDANCE_WORDS,
  REVISION_WORDS,
  RISK_WORDS,
  SEVERITY,
  SUBJECT_TRIGGERS,
  UNIT_ALIASES,
} from './lexicon.ts';
import { sentences, type Token } from './nlp.ts';
import { period, quantities, type Quantity } from './quantities.ts';
import { documentDate, segment, type Segment } from './segment.ts';

export interface Value {
  kind: Quantity['kind'];
  value: number;
  high?: number;
  approx?: boolean;
  atLeast?: boolean;
  plus?: boolean;
}

/** A figure stated about something: the unit of contradiction detection. */
export interface Statement {
  subject: string;
  metric: string;
  period?: string;
  value: Value;
  /** How the figure was written ("approximately 20 engineers"). */
  surface: string;
}

export interface ClaimFact {
  text: string;
  confidence: number;
  section?: string;
  statement?: Statement;
}

export interface GoalFact {
  text: string;
  section?: string;
  statement?: Statement;
}

export interface RiskFact {
  text: string;
  severity: 'low' | 'medium' | 'high' | 'critical';
  mitigation?: string;
}

/** A later document revising or reconciling a figure: "revised our hiring target from 20 to 15". */
export interface Revision {
  subject: string;
  metric: string;
  period?: string;
  from?: number;
  to?: number;
  /** Every value the sentence mentions for the figure (a reconciliation names both). */
  values: number[];
  text: string;
}

export interface DocumentFacts {
  title: string;
  date?: string;
  claims: ClaimFact[];
  goals: GoalFact[];
  risks: RiskFact[];
  assumptions: string[];
  revisions: Revision[];
}

const METADATA_LABELS = new Set(['to', 'from', 're', 'date', 'attendees', 'contact', 'owner', 'cc', 'subject']);
const HEDGES = /\b(may|might|could|expected|estimated|plan(?:s|ned)?|likely|approximately|around|about)\b/i;

function clean(text: string): string {
  return text.replace(/\s+/g, ' ').replace(/^["'“]|["'”]$/g, '').trim();
}

function triggerSubject(tokens: Token[], q: Quantity): string | undefined {
  let best: { subject: string; d: number } | undefined;
  let guidance = false;
  tokens.forEach((t, i) => {
    if (GUIDANCE_WORDS.has(t.lemma)) guidance = true;
    const s = SUBJECT_TRIGGERS[t.lemma] ?? SUBJECT_TRIGGERS[t.lower];
    if (!s) return;
    // Amounts and rates are about what precedes them ("revenue ... $2.1M"); counts
    // may name their subject after ("20 ... hires"), at double the distance.
    if (i > q.at && q.kind !== 'count') return;
    const d = i <= q.at ? q.at - i : 2 * (i - q.at);
    if (!best || d < best.d) best = { subject: s, d };
  });
  const found = (best as { subject: string } | undefined)?.subject;
  if (guidance) return `${found ?? 'revenue'} guidance`;
  return found ?? (q.kind === 'count' ? undefined : nounBefore(tokens, q.at));
}

/** "manual review time by an estimated 40%" → "review time". */
function nounBefore(tokens: Token[], at: number): string | undefined {
  for (let i = at - 1; i >= 0; i--) {
    if (tokens[i]!.pos !== 'NOUN') continue;
    const words = [tokens[i]!.lemma];
    if (tokens[i - 1]?.pos === 'NOUN') words.unshift(tokens[i - 1]!.lemma);
    return words.join(' ');
  }
  return undefined;
}

function headingSubject(heading: string | undefined): string | undefined {
  if (!heading) return undefined;
  for (const w of heading.toLowerCase().split(/\W+/)) if (SUBJECT_TRIGGERS[w]) return SUBJECT_TRIGGERS[w];
  return undefined;
}

function unitSubject(unit: string | undefined): string | undefined {
  if (!unit) return undefined;
  if (unit === 'engineers') return 'hiring';
  const s = SUBJECT_TRIGGERS[unit] ?? SUBJECT_TRIGGERS[unit.replace(/s$/, '')];
  return s;
}

function statementOf(q: Quantity, tokens: Token[], heading: string | undefined): Statement | undefined {
  const subject = unitSubject(q.unit) ?? triggerSubject(tokens, q) ?? headingSubject(heading);
  if (!subject) return undefined;
  const metric =
    q.kind === 'money' ? (q.currency ?? 'money') : q.kind === 'percent' ? 'percent' : (q.unit ?? DEFAULT_UNIT[subject]);
  if (!metric) return undefined;
  const value: Value = { kind: q.kind, value: q.value };
  if (q.high !== undefined) value.high = q.high;
  if (q.approx) value.approx = true;
  if (q.atLeast) value.atLeast = true;
  if (q.plus) value.plus = true;
  const p = period(tokens);
  return { subject, metric, ...(p ? { period: p } : {}), value, surface: q.text };
}

function severity(text: string): RiskFact['severity'] {
  for (const [re, s] of SEVERITY) if (re.test(text)) return s;
  return 'medium';
}

/** "close two logos, achieve SOC 2 certification, and onboard 15+ engineers" → three goals. */
function splitList(text: string): string[] {
  // "(1) a, (2) b": the chunk before the first marker is the lead-in.
  const enumerated = text.split(/\s*\(\d\)\s*/);
  const parts = enumerated.length > 1 ? enumerated.slice(1) : [text];
  return parts
    .flatMap((p) => p.split(/,\s*(?:and\s+)?|;\s*|\s+and\s+(?=[a-z]+\s)/))
    .map((s) => clean(s.replace(/[.,;]$/, '').replace(/^(and|or)\s+/i, '')))
    .filter((s) => s.split(' ').length >= 2);
}

export function extractFacts(text: string): DocumentFacts {
  const segs = segment(text);
  const facts: DocumentFacts = {
    title: segs.find((s) => s.kind === 'title')?.text ?? '',
    claims: [],
    goals: [],
    risks: [],
    assumptions: [],
    revisions: [],
  };
  const date = documentDate(segs);
  if (date) facts.date = date;

  for (const seg of segs) {
    if (seg.kind === 'title' || seg.kind === 'heading') continue;
    if (seg.label && METADATA_LABELS.has(seg.label.toLowerCase())) continue;
    readSegment(seg, facts);
  }
  return facts;
}

function readSegment(seg: Segment, facts: DocumentFacts): void {
  const label = seg.label?.toLowerCase() ?? '';
  const heading = seg.heading?.toLowerCase() ?? '';

  if (label.startsWith('assumption') || (heading.startsWith('assumption') && seg.kind === 'bullet')) {
    facts.assumptions.push(clean(seg.text));
    return;
  }
  if (label === 'risk' || (heading.includes('risk') && seg.kind === 'bullet')) {
    const [risk, mitigation] = seg.text.split(/\s*Mitigation:\s*/);
    const r = clean(risk!.replace(/\.$/, ''));
    if (r.toLowerCase().startsWith('assumption')) {
      facts.assumptions.push(clean(r.replace(/^assumption:\s*/i, '')));
      return;
    }
    facts.risks.push({ text: r, severity: severity(r), ...(mitigation ? { mitigation: clean(mitigation) } : {}) });
    // A risk may still state figures ("miss the 20-engineer target"): keep them as claims.
    for (const s of sentences(risk!)) addStatements(s.tokens, seg, facts, s.text, false);
    return;
  }
  const goalContext = label.startsWith('goal') || (heading.startsWith('goal') && seg.kind === 'bullet');
  if (goalContext) {
    for (const item of seg.kind === 'bullet' ? [clean(seg.text)] : splitList(seg.text)) addGoal(item, seg, facts);
    return;
  }

  for (const s of sentences(seg.text)) {
    const text = clean(s.text);
    if (!text || text.endsWith('?')) continue;
    if (/\bpriorities\b/i.test(text) && /\(\d\)/.test(text)) {
      for (const item of splitList(text.slice(text.indexOf(':') + 1))) addGoal(item, seg, facts);
      continue;
    }
    if (isRevision(s.tokens, seg)) {
      addRevision(s.tokens, seg, facts, text);
      continue;
    }
    if (GOAL_WORDS.test(text) && !/^new target:/i.test(text) && /\b(to|of)\b/i.test(text)) {
      addGoal(text, seg, facts, s.tokens);
      continue;
    }
    if (RISK_WORDS.test(text) && !/\brisk register\b/i.test(text)) {
      facts.risks.push({ text, severity: severity(text) });
      addStatements(s.tokens, seg, facts, text, false);
      continue;
    }
    addStatements(s.tokens, seg, facts, text, true);
  }
}

function isRevision(tokens: Token[], seg: Segment): boolean {
  // A planned action ("Action: align messaging") is not a revision that happened.
  if (seg.label && /^(action|next steps?|todo|to do)$/i.test(seg.label)) return false;
  const at = tokens.findIndex((t) => REVISION_WORDS.has(t.lower));
  if (at < 0 || !tokens.some((t) => /^\d/.test(t.text))) return false;
  // "No guidance was updated", "has not been revised": a statement that nothing changed.
  return !tokens.slice(Math.max(0, at - 4), at).some((t) => /^(no|not|never|n't|nothing)$/.test(t.lower));
}

function addRevision(tokens: Token[], seg: Segment, facts: DocumentFacts, text: string): void {
  const qs = quantities(tokens).filter((q) => q.role !== 'previous');
  const stmts = qs.map((q) => ({ q, s: statementOf(q, tokens, seg.heading) })).filter((x) => x.s);
  const first = stmts[0]?.s;
  if (!first) {
    addStatements(tokens, seg, facts, text, true);
    return;
  }
  const same = stmts.filter((x) => x.s!.subject === first.subject && x.s!.metric === first.metric);
  const from = same.find((x) => x.q.role === 'from')?.q.value;
  const to = same.find((x) => x.q.role === 'to')?.q.value;
  facts.revisions.push({
    subject: first.subject,
    metric: first.metric,
    ...(first.period ? { period: first.period } : {}),
    ...(from !== undefined ? { from } : {}),
    ...(to !== undefined ? { to } : {}),
    values: [...new Set(same.map((x) => x.q.value))],
    text,
  });
  // The revised figure is now a claim of this document.
  const accepted = same.find((x) => x.q.role === 'to') ?? (same.length === 1 ? same[0] : undefined);
  facts.claims.push({
    text,
    confidence: 0.85,
    ...(seg.heading ? { section: seg.heading } : {}),
    ...(accepted ? { statement: accepted.s! } : {}),
  });
}

function addGoal(text: string, seg: Segment, facts: DocumentFacts, tokens?: Token[]): void {
  const toks = tokens ?? sentences(text)[0]?.tokens ?? [];
  const qs = quantities(toks).filter((q) => q.role !== 'previous');
  const statement = qs.length ? statementOf(qs[0]!, toks, seg.heading) : undefined;
  facts.goals.push({ text: clean(text), ...(seg.heading ? { section: seg.heading } : {}), ...(statement ? { statement } : {}) });
  // The target a goal states is also a figure other documents may contradict.
  for (const q of qs) {
    const s = statementOf(q, toks, seg.heading);
    if (s) facts.claims.push({ text: clean(text), confidence: 0.75, ...(seg.heading ? { section: seg.heading } : {}), statement: s });
  }
}

function addStatements(tokens: Token[], seg: Segment, facts: DocumentFacts, text: string, plainClaim: boolean): void {
  const qs = quantities(tokens).filter((q) => q.role !== 'previous');
  const base = HEDGES.test(text) ? 0.65 : 0.8;
  let added = false;
  for (const q of qs) {
    const statement = statementOf(q, tokens, seg.heading);
    if (!statement) continue;
    facts.claims.push({
      text,
      confidence: q.approx ? Math.min(base, 0.7) : base,
      ...(seg.heading ? { section: seg.heading } : {}),
      statement,
    });
    added = true;
  }
  if (!added && plainClaim && tokens.some((t) => t.pos === 'VERB' || t.pos === 'AUX') && tokens.length >= 4) {
    facts.claims.push({ text, confidence: base, ...(seg.heading ? { section: seg.heading } : {}) });
  }
}

/** Canonical unit name, exported for callers that normalise LLM output. */
export function canonicalUnit(unit: string): string {
  const l = unit.toLowerCase();
  return UNIT_ALIASES[l] ?? UNIT_ALIASES[l.replace(/s$/, '')] ?? l;
}
