// LLM path of facts extraction: the model reads the document and records the
// facts with one `recordFacts` call, in the same shape the offline extractor
// produces. Its output is validated and normalised before anyone trusts it.
import { z } from 'zod';
import { canonicalUnit, type DocumentFacts, type Statement } from '../extract/extract.ts';
import { decide } from './decide.ts';
import type { LanguageModel } from './model.ts';

const Figure = z.object({
  subject: z.string().min(1).max(80),
  metric: z.string().min(1).max(40).describe('unit: USD, EUR, percent, engineers, customers, weeks...'),
  period: z.string().max(20).optional().describe('Q1-Q4, FY, FY2025, H1 2025'),
  value: z.number(),
  high: z.number().optional().describe('upper end of a range'),
  approx: z.boolean().optional(),
});

const FactsInput = z.object({
  claims: z.array(z.object({ text: z.string().min(1), confidence: z.number().min(0).max(1), figure: Figure.optional() })).max(200),
  goals: z.array(z.object({ text: z.string().min(1), figure: Figure.optional() })).max(100),
  risks: z.array(z.object({ text: z.string().min(1), severity: z.enum(['low', 'medium', 'high', 'critical']) })).max(100),
  assumptions: z.array(z.string().min(1)).max(100),
  revisions: z
    .array(
      z.object({
        subject: z.string(),
        metric: z.string(),
        period: z.string().optional(),
        from: z.number().optional(),
        to: z.number().optional(),
        text: z.string(),
      }),
    )
    .max(50),
});

const INSTRUCTIONS = `You extract facts from business documents for a due-diligence swarm.
Record every factual claim (with its figure when it states a number: subject, metric/unit, period, value),
every goal ("aim to", "target", "goal"), every risk with a severity, every stated assumption, and every
revision or reconciliation of an earlier figure ("revised X from A to B"). Use lower-case subjects such as
"hiring", "revenue", "revenue guidance", "operating margin". Call recordFacts exactly once.`;

function statement(f: z.infer<typeof Figure> | undefined): Statement | undefined {
  if (!f) return undefined;
  const metric = /^(usd|eur|gbp)$/i.test(f.metric) ? f.metric.toUpperCase() : f.metric === '%' ? 'percent' : canonicalUnit(f.metric);
  const kind = metric === 'percent' ? 'percent' : /^(USD|EUR|GBP)$/.test(metric) ? 'money' : 'count';
  return {
    subject: f.subject.toLowerCase().trim(),
    metric,
    ...(f.period ? { period: f.period.toUpperCase() } : {}),
    value: { kind, value: f.value, ...(f.high !== undefined ? { high: f.high } : {}), ...(f.approx ? { approx: true } : {}) },
    surface: String(f.value),
  };
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
  const with_ = <T extends object>(o: T, s: Statement | undefined) => (s ? { ...o, statement: s } : o);
  return {
    title: doc.title,
    claims: f.claims.map((c) => with_({ text: c.text, confidence: c.confidence }, statement(c.figure))),
    goals: f.goals.map((g) => with_({ text: g.text }, statement(g.figure))),
    risks: f.risks,
    assumptions: f.assumptions,
    revisions: f.revisions.map((r) => ({
      subject: r.subject.toLowerCase(),
      metric: canonicalUnit(r.metric),
      ...(r.period ? { period: r.period.toUpperCase() } : {}),
      ...(r.from !== undefined ? { from: r.from } : {}),
      ...(r.to !== undefined ? { to: r.to } : {}),
      values: [r.from, r.to].filter((v): v is number => v !== undefined),
      text: r.text,
    })),
  };
}
