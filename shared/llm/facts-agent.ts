// LLM path of facts extraction: the model reads the document and records its facts
// with one `recordFacts` call. Nothing it says is trusted as is: every figure must
// quote the document (the quoted span must exist in the text, and the number or
// date must be in the quote — read back with the offline number and date readers),
// or it is dropped and counted. The result has the offline extractor's shape, so
// both paths feed the same comparison.
import { z } from 'zod';
import { findDates, referenceYear } from '../extract/dates.ts';
import { definedAcronyms, type ClaimFact, type Deadline, type DocumentFacts, type Revision } from '../extract/extract.ts';
import { findNumbers, type NumberMention } from '../extract/numbers.ts';
import type { Statement, Value } from '../extract/types.ts';
import { CURRENCY_CODES, unitAt } from '../extract/units.ts';
import { decide } from './decide.ts';
import type { LanguageModel } from './model.ts';

const str = (max: number) => z.string().trim().min(1).max(max);

const Figure = z.object({
  quote: str(600).describe('the exact words of the document that state the figure, copied verbatim'),
  subject: str(120).describe('what the figure measures: "net revenue retention", "total project cost", "patients enrolled"'),
  value: z.union([z.number(), str(20)]).describe('a number as a plain value (48000000, 118), or a date as YYYY-MM-DD, YYYY-MM, YYYY-Qn or YYYY'),
  unit: str(40).describe('USD, EUR, percent, a counted noun (patients, trucks), a unit (t, m3, MWh, months), or date'),
  period: z.string().max(30).optional().describe('FY2026, 2026-Q3, 2026-06-30 ...'),
  role: z.enum(['asserted', 'target']).default('asserted').describe('target: a goal the document sets'),
});

const FactsInput = z.object({
  figures: z.array(Figure).max(300),
  claims: z.array(z.object({ text: str(1000), confidence: z.number().min(0).max(1) })).max(200),
  goals: z.array(z.object({ text: str(600), deadline: z.string().max(20).optional() })).max(100),
  goal_updates: z.array(z.object({ state: z.enum(['unreachable', 'superseded']), text: str(600), new_deadline: z.string().max(20).optional() })).max(50),
  risks: z.array(z.object({ text: str(600), severity: z.enum(['low', 'medium', 'high', 'critical']) })).max(100),
  assumptions: z.array(str(600)).max(100),
  revisions: z
    .array(z.object({ quote: str(600), subject: str(120), unit: str(40), from: z.union([z.number(), str(20)]).optional(), to: z.union([z.number(), str(20)]).optional(), accepted: z.union([z.number(), str(20)]).optional() }))
    .max(50),
});

const INSTRUCTIONS = `You extract facts from documents for a due-diligence swarm (any domain).
Record every stated figure with the exact quote that states it, its subject (the noun phrase it measures),
value, unit and period; every goal (with its deadline), every later word on a goal (cannot be met → unreachable,
a new target date → superseded), every risk with a severity, every assumption, and every revision that settles
an earlier figure ("restated from A to B", "B replaces A", "we accept B"). Do not record figures the document
only cites from another document. Call recordFacts exactly once.`;

const norm = (s: string) => s.replace(/\s+/g, ' ').trim().toLowerCase();

/** The document flattened (whitespace collapsed, lower case), with each character's offset in the original. */
interface Flat {
  text: string;
  flat: string;
  map: number[];
}

function flatten(text: string): Flat {
  const map: number[] = [];
  let flat = '';
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (/\s/.test(ch)) {
      if (flat.endsWith(' ') || !flat) continue;
      flat += ' ';
    } else flat += ch.toLowerCase();
    map.push(i);
  }
  return { text, flat, map };
}

/** Where a quote stands in the document (whitespace and case aside). */
function locate(doc: Flat, quote: string): { at: number; len: number } | undefined {
  const q = norm(quote).replace(/[.;,]$/, '');
  if (!q) return undefined;
  const { flat, map } = doc;
  const k = flat.indexOf(q);
  if (k < 0) return undefined;
  const at = map[k]!;
  const end = map[k + q.length - 1]! + 1;
  return { at, len: end - at };
}

const DATE_VALUE = /^(\d{4})(?:-(Q[1-4]|H[12]|\d{2})(?:-(\d{2}))?)?$/;

interface Grounded {
  value: Value;
  metric: string;
  unit: string;
  span: [number, number];
  surface: string;
}

/** The figure's value must be one the quote states. Returns the value as read from the text. */
function ground(doc: Flat, refYear: number | undefined, quote: string, claimed: number | string, unit: string): Grounded | undefined {
  const where = locate(doc, quote);
  if (!where) return undefined;
  const span = doc.text.slice(where.at, where.at + where.len);
  if (typeof claimed === 'string' || unit.toLowerCase() === 'date') {
    const label = String(claimed).toUpperCase().replace(/^(\d{4})-Q/, '$1-Q');
    if (!DATE_VALUE.test(label)) return undefined;
    const d = findDates(span, refYear).find((x) => x.label.toUpperCase() === label || x.label.toUpperCase().endsWith(label));
    if (!d) return undefined;
    return { value: { kind: 'date', value: d.start, high: d.end, label: d.label }, metric: 'date', unit: 'date', span: [where.at + d.at, where.at + d.to], surface: d.text };
  }
  const dates = findDates(span, refYear);
  const nums = findNumbers(span, dates.map((d) => [d.at, d.to] as const));
  const close = (a: number, b: number) => Math.abs(a - b) <= Math.max(1e-9, Math.abs(b) * 0.005);
  const n: NumberMention | undefined = nums.find((m) => close(m.value, claimed) || (m.high !== undefined && close(m.high, claimed)) || (m.unit && close(m.value / m.unit.factor, claimed)));
  if (!n) return undefined;
  const u = unit.trim();
  const upper = u.toUpperCase();
  let metric: string;
  let label = u;
  if (n.currency || CURRENCY_CODES.includes(upper)) {
    metric = n.currency ?? upper;
    label = metric;
  } else if (n.kind === 'percent' || /^(%|percent|pct)$/i.test(u)) {
    metric = 'percent';
    label = '%';
  } else if (n.unit) {
    metric = n.unit.dim;
    label = n.unit.label;
  } else {
    const phys = unitAt(` ${u}`);
    if (phys) {
      metric = phys.def.dim;
      label = phys.def.label;
    } else {
      const noun = u.toLowerCase().split(/\s+/).at(-1)!.replace(/(?<=[^s])s$/, '');
      metric = /^[a-z][a-z-]{1,30}$/.test(noun) ? `count:${noun}` : 'count';
    }
  }
  const value: Value = { kind: metric === 'percent' ? 'percent' : n.currency ? 'money' : n.unit ? 'measure' : 'count', value: n.value };
  if (n.high !== undefined) value.high = n.high;
  if (n.approx) value.approx = true;
  if (n.plus) value.plus = true;
  return { value, metric, unit: label, span: [where.at + n.at, where.at + n.to], surface: n.text };
}

function deadline(s: string | undefined, refYear: number | undefined): Deadline | undefined {
  if (!s) return undefined;
  const d = findDates(s, refYear)[0];
  return d && !Number.isNaN(d.start) ? { label: d.label, start: d.start, end: d.end } : undefined;
}

export async function extractFactsWithLlm(
  model: LanguageModel,
  doc: { title: string; text: string },
  signal?: AbortSignal,
): Promise<DocumentFacts | undefined> {
  const d = await decide(model, {
    id: 'facts-extractor',
    instructions: INSTRUCTIONS,
    prompt: `Document "${doc.title}":\n\n${doc.text}`,
    decisions: { recordFacts: { description: 'Record the facts of this document', input: FactsInput } },
    maxSteps: 3,
    ...(signal ? { signal } : {}),
  });
  if (!d) return undefined;
  const f = FactsInput.parse(d.args);
  const refYear = referenceYear(doc.text);
  // Flattened once: every quote is looked up in it.
  const flat = flatten(doc.text);
  let dropped = 0;
  const claims: ClaimFact[] = [];
  for (const fig of f.figures) {
    const g = ground(flat, refYear, fig.quote, fig.value, fig.unit);
    if (!g) {
      dropped++;
      continue;
    }
    const statement: Statement = {
      subject: fig.subject.toLowerCase(),
      metric: g.metric,
      unit: g.unit,
      ...(fig.period ? { period: fig.period.toUpperCase() } : {}),
      value: g.value,
      surface: g.surface,
      role: fig.role,
      span: g.span,
    };
    const where = locate(flat, fig.quote)!;
    claims.push({ text: fig.quote.replace(/\s+/g, ' ').trim(), confidence: fig.role === 'target' ? 0.75 : 0.8, statement, span: [where.at, where.at + where.len], ...(fig.role === 'target' ? { mood: { modal: true } } : {}) });
  }
  for (const c of f.claims) {
    // A claim without a figure must also be the document's words.
    if (!locate(flat, c.text)) {
      dropped++;
      continue;
    }
    claims.push({ text: c.text, confidence: c.confidence });
  }
  const revisions: Revision[] = [];
  for (const r of f.revisions) {
    const from = r.from !== undefined ? ground(flat, refYear, r.quote, r.from, r.unit) : undefined;
    const to = r.to !== undefined ? ground(flat, refYear, r.quote, r.to, r.unit) : undefined;
    const acc = r.accepted !== undefined ? ground(flat, refYear, r.quote, r.accepted, r.unit) : undefined;
    const any = to ?? acc ?? from;
    if (!any || (r.from !== undefined && !from) || (r.to !== undefined && !to) || (r.accepted !== undefined && !acc)) {
      dropped++;
      continue;
    }
    revisions.push({
      subject: r.subject.toLowerCase(),
      metric: any.metric,
      ...(from ? { from: from.value } : {}),
      ...(to ? { to: to.value } : {}),
      ...(acc ? { accepted: [acc.value] } : {}),
      text: r.quote,
    });
  }
  return {
    title: doc.title,
    claims,
    goals: f.goals.map((g) => {
      const dl = deadline(g.deadline ?? g.text, refYear);
      return { text: g.text, ...(dl ? { deadline: dl } : {}) };
    }),
    goalUpdates: f.goal_updates.map((u) => {
      const dl = deadline(u.new_deadline, refYear);
      const dates = findDates(u.text, refYear).filter((x) => !Number.isNaN(x.start)).map((x) => ({ label: x.label, start: x.start, end: x.end }));
      return { state: u.state, text: u.text, dates, ...(dl ? { deadline: dl } : {}) };
    }),
    risks: f.risks,
    assumptions: f.assumptions,
    revisions,
    acronyms: definedAcronyms(doc.text),
    dropped,
  };
}
