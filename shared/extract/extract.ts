// The offline facts extractor: a plain-text document → claims (figures with their
// subject, unit, period and span), goals (with deadlines), goal updates ("cannot be
// met", "now target ..."), risks, assumptions, revisions (a later document restating,
// replacing, accepting or withdrawing a figure) and the acronyms it defines.
// Deterministic, no network, linear in the document (the caps of ./limits.ts bound
// the work per sentence): the fallback for the LLM extraction step, and the default.
// The facts step runs it off the event loop, with a deadline (./pool.ts).
import { findDates, referenceYear, yearValue, type DateMention, type DateValue } from './dates.ts';
import { readSentence, type Figure, type SentenceReading } from './figures.ts';
import { DEFAULT_LIMITS, type ExtractLimits, type LimitsReport } from './limits.ts';
import { sentences } from './nlp.ts';
import { documentDate, segment, type Segment } from './segment.ts';
import type { Statement, Value } from './types.ts';

export type { Statement, Value } from './types.ts';
export type { ExtractLimits, LimitsReport } from './limits.ts';

export interface ClaimFact {
  text: string;
  confidence: number;
  section?: string;
  statement?: Statement;
  /** Offsets of the sentence in the document. */
  span?: [number, number];
  /** How the sentence is put: denied, hypothetical/planned, or stating something done or holding. */
  mood?: { negated?: boolean; modal?: boolean; done?: boolean };
}

export interface Deadline {
  label: string;
  /** Days since 1970-01-01, first and last day of the deadline's period. */
  start: number;
  end: number;
}

export interface GoalFact {
  text: string;
  section?: string;
  statement?: Statement;
  deadline?: Deadline;
  span?: [number, number];
}

export interface RiskFact {
  text: string;
  severity: 'low' | 'medium' | 'high' | 'critical';
  mitigation?: string;
}

/**
 * A document settling a figure: "restated from $48.0M to $41.3M", "March 2028 is
 * accepted in place of September 2027", "we accept the $41.3M", "withdrew the 24-month
 * figure".
 */
export interface Revision {
  subject: string;
  metric: string;
  period?: string;
  from?: Value;
  to?: Value;
  /** Values the document accepts. */
  accepted?: Value[];
  /** Values the document withdraws. */
  withdrawn?: Value[];
  /**
   * revision: the figure itself was changed ("restated from", "revised", "corrected") — the old
   * value retires; replacement: the document prefers one value ("instead of", "replaces") —
   * it settles a dispute on record, but alone it is a disagreement, not a change.
   */
  kind?: 'revision' | 'replacement';
  text: string;
  span?: [number, number];
}

/** A later word on a goal: it cannot be met, or a new target replaces it. */
export interface GoalUpdate {
  state: 'unreachable' | 'superseded';
  text: string;
  /** Dates the sentence names (to find the goal by its deadline). */
  dates: Deadline[];
  /** The new deadline, when a new target replaces the goal. */
  deadline?: Deadline;
  span?: [number, number];
}

export interface DocumentFacts {
  title: string;
  date?: string;
  claims: ClaimFact[];
  goals: GoalFact[];
  risks: RiskFact[];
  assumptions: string[];
  revisions: Revision[];
  goalUpdates: GoalUpdate[];
  /** Acronyms the document defines: { ARR: "annual recurring revenue" }. */
  acronyms: Record<string, string>;
  /** LLM path: figures and claims dropped because the document does not say them. */
  dropped?: number;
  /** Offline path: what the extraction caps left out (present only when they did). */
  limits?: LimitsReport;
}

const METADATA_LABELS = /^(to|from|re|date|dated|attendees|contact|owner|cc|bcc|subject|prepared by|prepared for|reviewer|reviewed by|author|authors|page|ref|reference|classification|version|distribution|circulation|status|approved by|signed)$/i;
const GOAL_WORDS = /\b(goals?|aims?|aim to|targets?|targeting|objectives?|ambitions?|plans? to|intends? to|commit(?:s|ted)? to|seeks? to|priorit(?:y|ies|ise|ize))\b/i;
/** "on track to meet our full-year targets" reports on targets; it sets none. */
/**
 * A goal word inside a comparison with a goal ("a week later than the vendor's target",
 * "ahead of plan", "behind target"): the sentence measures something against a goal, it
 * does not set one. Only the comparison is taken out before looking for goal words.
 */
const AGAINST_GOAL =
  /\b(?:(?:later|earlier|sooner|more|less|higher|lower|better|worse|faster|slower)\s+than|ahead\s+of|behind|short\s+of|against|compared\s+(?:to|with)|relative\s+to)\s+(?:[\w'’-]+\s+){0,3}?(?:targets?|goals?|objectives?|plans?)\b/gi;
const setsGoal = (text: string) => GOAL_WORDS.test(text.replace(AGAINST_GOAL, ' '));
const STATUS_OF_TARGETS = /\b(meet|hit|achiev|reach|exceed|miss|beat)\w*\s+(?:all\s+)?(?:our|its|their|the|these|those)\s+(?:[\w-]+\s+)?(targets|goals|objectives)\b/i;
const UNREACHABLE = /\b(?:cannot|can ?not|can't|will\s+not|won't|could\s+not|unable\s+to|no\s+longer)\s+(?:\w+\s+)?(?:be\s+)?(?:met|achieved|reached|attained|possible|feasible|realistic|achievable|hit|done|completed|delivered|closed)\b|\b(impossible|unachievable|unattainable|unrealistic|out\s+of\s+reach|infeasible)\b|\bnot\s+(?:be\s+)?(?:achievable|feasible|possible|realistic)\b|\bwill\s+(?:be\s+)?miss(?:ed)?\b/i;
const SUPERSEDE = /\b(now\s+target(?:s|ing)?|new\s+target|revised\s+target|(?:moved|pushed(?:\s+back)?|postponed|rescheduled|deferred|extended|shifted|slipped|revised|reset|brought\s+forward)\s+to|target\s+date\s+is\s+now|now\s+(?:aim|plan|expect|intend)s?\s+to|replaced\s+by|now\s+due)\b/i;
const DEADLINE_BEFORE = /\b(by|before|until|till|no\s+later\s+than|in|within|for|during|end\s+of|on)\s*(?:the\s+)?(?:end\s+of\s+)?$/i;
const RISK_WORDS = /\b(risks?|may miss|might miss|could (?:delay|impact|affect|harm)|may (?:delay|shift|slip|restrict)|dependency on|exposure|outage|threat|concern|vulnerab\w+)\b/i;
const HEDGED = /\b(may|might|could|expected|estimated|plan(?:s|ned)?|likely|approximately|around|about|forecast|preliminary|unaudited)\b/i;
const SEVERITY: [RegExp, RiskFact['severity']][] = [
  [/\b(critical|severe|existential|lawsuit|litigation|breach|insolven\w+|fraud|sanction\w*)\b/i, 'critical'],
  [/\b(miss|delay|loss|lose|outage|halt|block|overrun|terminat\w+|churn\w*)\w*\b/i, 'high'],
  [/\b(expected to close|minor|limited|low)\b/i, 'low'],
];

function clean(text: string): string {
  return text.replace(/\s+/g, ' ').replace(/^["'“]|["'”]$/g, '').trim();
}

function severity(text: string): RiskFact['severity'] {
  for (const [re, s] of SEVERITY) if (re.test(text)) return s;
  return 'medium';
}

const deadlineOf = (d: DateMention | DateValue | Value): Deadline =>
  'label' in d && 'start' in d ? { label: d.label, start: d.start, end: d.end } : { label: (d as Value).label ?? '', start: (d as Value).value, end: (d as Value).high ?? (d as Value).value };

/** "annual recurring revenue (ARR)" → { ARR: "annual recurring revenue" }: the initials must spell the acronym. */
export function definedAcronyms(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  // Find each "(ACR)", then look back at most six words: one regex spanning the words
  // backtracks through every long word of the text (quadratic on a 100 KB "word").
  const re = /\(([A-Z][A-Za-z]{1,6})\)/g;
  let consumed = 0;
  for (let m = re.exec(text); m; m = re.exec(text)) {
    const acr = m[1]!;
    const before = text.slice(Math.max(consumed, m.index - 300), m.index);
    consumed = m.index + m[0].length;
    if (!/\s$/.test(before)) continue;
    const parts = before.split(/\s+/);
    parts.pop();
    const words: string[] = [];
    while (words.length < 6 && parts.length) {
      const p = parts.pop()!;
      if (/^[A-Za-z][\w-]*$/.test(p)) {
        words.unshift(p);
        continue;
      }
      // "x,annual": the word starts at its first letter after the last character no word has.
      const tail = /[A-Za-z][\w-]*$/.exec(p);
      if (tail) words.unshift(tail[0]);
      break;
    }
    if (!words.length) continue;
    const letters = acr.toLowerCase().replace(/s$/, '');
    // The shortest run of words before the parenthesis whose initials spell it (inner "of", "and" may be skipped).
    for (let n = 2; n <= Math.min(words.length, letters.length + 2); n++) {
      const cand = words.slice(-n);
      if (/^(of|and|the|for|to|in|&)$/i.test(cand[0]!)) continue;
      const initials = cand.filter((w) => !/^(of|and|the|for|to|in|&)$/i.test(w)).map((w) => w[0]!.toLowerCase()).join('');
      if (initials === letters) {
        out[acr] = cand.join(' ').toLowerCase();
        break;
      }
    }
  }
  return out;
}

/** "Recurring revenue. We confirm ..." — a run-in heading: a short phrase without a verb that opens a paragraph. */
function runInHeading(seg: Segment): { heading: string; end: number } | undefined {
  const m = /^([A-Z][A-Za-z &/'’-]{2,48})\.\s+(?=[A-Z])/.exec(seg.text);
  if (!m || m[1]!.split(/\s+/).length > 5) return undefined;
  const s = sentences(m[1]!)[0];
  if (!s || s.tokens.some((t) => t.pos === 'VERB' || t.pos === 'AUX' || t.pos === 'PRON')) return undefined;
  return { heading: m[1]!, end: m[0].length };
}

/** The caps of one extraction and what they left out. */
interface Run {
  limits: ExtractLimits;
  report: LimitsReport;
}

/**
 * Read a document. Pure and synchronous; its work is linear in the text within
 * `limits` (a sentence is read in chunks, figures per sentence and claims per document
 * are capped, and what the caps leave out is counted in `limits` of the result). The
 * document size cap is the caller's to check (assertDocumentSize): this never throws.
 */
export function extractFacts(text: string, limits: ExtractLimits = DEFAULT_LIMITS): DocumentFacts {
  const run: Run = { limits, report: { sentences_split: 0, figures_ignored: 0, claims_dropped: 0 } };
  const segs = segment(text);
  const facts: DocumentFacts = {
    // A one-line document has no title segment: its title is derived from the line, which stays body.
    title: segs.find((s) => s.kind === 'title')?.text ?? text.trim().split('\n')[0]?.trim() ?? '',
    claims: [],
    goals: [],
    risks: [],
    assumptions: [],
    revisions: [],
    goalUpdates: [],
    acronyms: definedAcronyms(text),
  };
  const date = documentDate(segs);
  if (date) facts.date = date;
  const refYear = date ? Number(date.slice(0, 4)) : referenceYear(text);

  for (const seg of segs) {
    if (seg.kind === 'title' || seg.kind === 'heading') continue;
    if (seg.label && METADATA_LABELS.test(seg.label)) continue;
    readSegment(seg, facts, refYear, run);
  }
  if (facts.claims.length > limits.maxClaims) {
    run.report.claims_dropped = facts.claims.length - limits.maxClaims;
    facts.claims.length = limits.maxClaims;
  }
  const r = run.report;
  if (r.sentences_split || r.figures_ignored || r.claims_dropped) facts.limits = r;
  return facts;
}

interface Read {
  text: string;
  span: [number, number];
  r: SentenceReading;
}

function readSegment(seg: Segment, facts: DocumentFacts, refYear: number | undefined, run: Run): void {
  const label = seg.label?.toLowerCase() ?? '';
  const heading = seg.heading?.toLowerCase() ?? '';
  const section = seg.heading ?? seg.label;

  if (label.startsWith('assumption') || (heading.startsWith('assumption') && seg.kind === 'bullet')) {
    facts.assumptions.push(clean(seg.text));
    return;
  }
  const runIn = runInHeading(seg);
  const body = runIn ? seg.text.slice(runIn.end) : seg.text;
  const bodyStart = seg.start + (runIn?.end ?? 0);
  // The line's own label or run-in heading says what its figures are about ("Net revenue retention: ...").
  // A label is a noun phrase ("EBITDA margin:"); "CEO Jane Walsh stated:" introduces a quote instead.
  const last = seg.label ? sentences(seg.label)[0]?.tokens.at(-1) : undefined;
  const nounLabel = seg.label && !/^(risk|goal|goals|note|action|summary|recommendation|comment|finding|conclusion|update|status)s?$/i.test(seg.label) && !(last && /^(say|state|note|add|comment|explain|write|report|tell|remark|conclude|announce|confirm|reply|respond|ask|answer)$/.test(last.lemma));
  const context = runIn?.heading ?? (nounLabel ? seg.label : undefined);
  // A heading (or a table's header row) that names one period dates the figures under it.
  const headingDates = seg.heading ? findDates(seg.heading, refYear).filter((d) => !Number.isNaN(d.start) || d.fiscal) : [];
  const period = headingDates.length === 1 ? headingDates[0]!.label : undefined;
  const read: Read[] = sentences(body, run.limits, run.report).map((s) => ({
    text: clean(s.text),
    span: [bodyStart + s.start, bodyStart + s.end],
    r: readSentence(s, { offset: bodyStart, maxFigures: run.limits.maxSentenceFigures, report: run.report, ...(refYear ? { refYear } : {}), ...(context ? { context } : {}), ...(period ? { period } : {}) }),
  }));
  const listItem = itemReader(seg, refYear, run);

  const isRiskLine = label === 'risk' || label === 'risks' || (heading.includes('risk') && seg.kind === 'bullet');
  if (isRiskLine) {
    const [risk, mitigation] = seg.text.split(/\s*Mitigation:\s*/);
    const r = clean(risk!.replace(/\.$/, ''));
    if (r.toLowerCase().startsWith('assumption')) {
      facts.assumptions.push(clean(r.replace(/^assumption:\s*/i, '')));
      return;
    }
    facts.risks.push({ text: r, severity: severity(r), ...(mitigation ? { mitigation: clean(mitigation) } : {}) });
    // A risk may still state figures ("22% of ARR comes from ..."): they are claims too, with less weight.
    for (const x of read) addClaims(x, facts, section, 'risk');
    return;
  }
  const goalLine = label.startsWith('goal') || label.startsWith('objective') || label.startsWith('target') || (/^(goals?|objectives?|targets?)\b/.test(heading) && seg.kind === 'bullet');
  if (goalLine) {
    for (const x of read) {
      // "Goals for the cycle: close two logos, achieve SOC 2, and onboard 15+ engineers" is three goals.
      const list = seg.kind === 'bullet' ? [] : splitList(x.text);
      if (list.length >= 2) for (const item of list) addGoal(listItem(item.text), facts, section);
      else addGoal(x, facts, section);
    }
    return;
  }

  for (const x of read) {
    const { text, r } = x;
    if (!text || text.endsWith('?')) continue;
    if (/\bpriorities\b/i.test(text) && /\(\d\)/.test(text)) {
      const colon = text.indexOf(':');
      for (const item of splitList(text.slice(colon + 1))) addGoal(listItem(item.text), facts, section);
      continue;
    }
    if (UNREACHABLE.test(text) && (GOAL_WORDS.test(text) || goalDates(r, text).length)) {
      facts.goalUpdates.push({ state: 'unreachable', text, dates: goalDates(r, text), span: x.span });
      continue;
    }
    if (SUPERSEDE.test(text) && goalDates(r).length && !r.change) {
      const dates = goalDates(r);
      const deadline = dates.at(-1)!;
      facts.goalUpdates.push({ state: 'superseded', text, dates, deadline, span: x.span });
      // The new target is a goal of its own when it says what is to be done ("now target closing by ...").
      if (x.r.hasAction) addGoal(x, facts, section);
      continue;
    }
    if (r.change || r.accepted.length || r.withdrawn.length) addRevision(x, facts);
    if (setsGoal(text) && !STATUS_OF_TARGETS.test(text) && !/^new target:/i.test(text) && /\b(to|of|by)\b/i.test(text) && !r.change && !r.negated) {
      addGoal(x, facts, section);
      continue;
    }
    if (RISK_WORDS.test(text) && !/\brisk register\b/i.test(text) && !/^no\b/i.test(text)) {
      facts.risks.push({ text, severity: severity(text) });
      addClaims(x, facts, section, 'risk');
      continue;
    }
    addClaims(x, facts, section, 'plain');
  }
}

/** Items of a segment's inline lists, each read on its own, with its offsets in the document. */
function itemReader(seg: Segment, refYear: number | undefined, run: Run): (item: string) => Read {
  // The segment's text with its spaces collapsed, made once (not once per item); items
  // come in order, so each is looked for after the previous one (not from the start).
  let flat: string | undefined;
  let from = 0;
  return (item) => {
    flat ??= seg.text.replace(/\s+/g, ' ');
    let at = flat.indexOf(item, from);
    if (at < 0) at = Math.max(0, flat.indexOf(item));
    else from = at;
    const start = seg.start + at;
    return { text: item, span: [start, start + item.length], r: readOne(item, start, refYear, run) };
  };
}

function readOne(text: string, offset: number, refYear: number | undefined, run: Run): SentenceReading {
  const s = sentences(text, run.limits, run.report)[0];
  if (!s) return { figures: [], dates: [], accepted: [], withdrawn: [], disputes: false, negated: false, modal: false, done: false, hasAction: false };
  return readSentence(s, { offset, maxFigures: run.limits.maxSentenceFigures, report: run.report, ...(refYear ? { refYear } : {}) });
}

/** Dates a goal sentence names, as deadlines: its plain dates and any date figures. */
function goalDates(r: SentenceReading, text = ''): Deadline[] {
  // "the 2027 electrification target": a year naming which goal, not a figure.
  const named = [...text.matchAll(/\b(?:the|its|our|their|this)\s+((?:19|20)\d{2})\s+(?=[a-z])/gi)].map((m) => deadlineOf(yearValue(Number(m[1]))));
  return [...r.dates.filter((d) => !Number.isNaN(d.start)).map(deadlineOf), ...r.figures.filter((f) => f.metric === 'date').map((f) => deadlineOf(f.value)), ...named].sort((a, b) => a.start - b.start);
}

/** "close two logos, achieve SOC 2 certification, and onboard 15+ engineers" → three goals. */
function splitList(text: string): { text: string; at: number }[] {
  const out: { text: string; at: number }[] = [];
  // "(1) a, (2) b": the chunk before the first marker is the lead-in.
  const enumerated = /\(\d\)/.test(text);
  const re = enumerated ? /\(\d\)\s*([^()]+?)(?=\s*\(\d\)|$)/g : /([^,;]+?)(?=,\s*(?:and\s+)?|;\s*|\s+and\s+(?=[a-z]+\s)|$)/g;
  for (let m = re.exec(text); m; m = re.exec(text)) {
    if (!m[0]) {
      re.lastIndex++;
      continue;
    }
    const raw = m[1]!;
    const item = clean(raw.trim().replace(/[.,;]$/, '').replace(/^(and|or)\s+/i, '').replace(/,?\s*(and|or)$/i, ''));
    if (item.split(' ').length >= 2) out.push({ text: item, at: m.index + (m[0].indexOf(raw) >= 0 ? m[0].indexOf(raw) : 0) });
  }
  return out;
}

function confidenceOf(f: Figure | undefined, text: string, base = HEDGED.test(text) ? 0.65 : 0.8): number {
  if (!f) return base;
  return f.value.approx || f.hedge ? Math.min(base, 0.7) : base;
}

function statementOf(f: Figure, role: Statement['role'] = 'asserted'): Statement {
  const { mentionRole: _r, t0: _a, t1: _b, ...s } = f;
  return { ...s, role };
}

function moodOf(r: SentenceReading): ClaimFact['mood'] {
  const m: NonNullable<ClaimFact['mood']> = {};
  if (r.negated) m.negated = true;
  if (r.modal) m.modal = true;
  if (r.done) m.done = true;
  return m;
}

function addClaims(x: Read, facts: DocumentFacts, section: string | undefined, kind: 'plain' | 'risk'): void {
  const claims = x.r.figures.filter((f) => f.mentionRole === 'asserted' || f.mentionRole === 'to');
  const base = kind === 'risk' ? 0.6 : undefined;
  for (const f of claims) {
    const statement = statementOf(f);
    if (x.r.modal) statement.modal = true;
    facts.claims.push({ text: x.text, confidence: confidenceOf(f, x.text, base), ...(section ? { section } : {}), statement, span: x.span, mood: moodOf(x.r) });
  }
  // A sentence without figures is still a claim of the document (when it says something).
  if (!claims.length && kind === 'plain' && x.text.split(' ').length >= 4 && /\b[a-z]{3,}/.test(x.text)) {
    facts.claims.push({ text: x.text, confidence: confidenceOf(undefined, x.text), ...(section ? { section } : {}), span: x.span, mood: moodOf(x.r) });
  }
}

function addGoal(x: Read, facts: DocumentFacts, section: string | undefined): void {
  const dates = goalDates(x.r);
  // The deadline: the date the goal is due by (the last one named with "by", "before", "in" ...).
  const due = x.r.dates.filter((d) => !Number.isNaN(d.start) && DEADLINE_BEFORE.test(x.text.slice(0, Math.max(0, d.at - x.span[0]))));
  const deadline = due.length ? deadlineOf(due.at(-1)!) : dates.at(-1);
  const targets = x.r.figures.filter((f) => f.metric !== 'date' && (f.mentionRole === 'asserted' || f.mentionRole === 'to'));
  facts.goals.push({
    text: clean(x.text.replace(/^(goal|goals|objective|target)s?:\s*/i, '')),
    ...(section ? { section } : {}),
    ...(targets[0] ? { statement: statementOf(targets[0], 'target') } : {}),
    ...(deadline ? { deadline } : {}),
    span: x.span,
  });
  // The target a goal states is also a figure other documents may contradict.
  for (const f of targets) facts.claims.push({ text: x.text, confidence: 0.75, ...(section ? { section } : {}), statement: statementOf(f, 'target'), span: x.span, mood: { modal: true } });
}

function addRevision(x: Read, facts: DocumentFacts): void {
  const { r } = x;
  const about = r.change?.to ?? r.accepted[0] ?? r.withdrawn[0];
  if (!about) return;
  const rev: Revision = {
    subject: about.subject,
    metric: about.metric,
    ...(about.period ? { period: about.period } : {}),
    text: x.text,
    span: x.span,
  };
  if (r.change) {
    rev.from = r.change.from.value;
    rev.to = r.change.to.value;
    rev.kind = r.change.replacement ? 'replacement' : 'revision';
    // A change of a figure that is not a correction ("grew from $2M to $3M") only states the new value.
    if (!r.change.revision) return;
  }
  if (r.accepted.length) rev.accepted = r.accepted.map((f) => f.value);
  if (r.withdrawn.length) rev.withdrawn = r.withdrawn.map((f) => f.value);
  facts.revisions.push(rev);
}
