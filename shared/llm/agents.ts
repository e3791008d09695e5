// The LLM steps other than extraction: each a Mastra agent (see decide.ts) whose
// read tools answer from data the step already loaded and whose decision tool
// captures a validated answer. The deterministic result of each step is always
// computed too; these only refine or route it.
import { z } from 'zod';
import { decide } from './decide.ts';
import type { LanguageModel } from './model.ts';

const DriftLevel = z.enum(['none', 'low', 'medium', 'high', 'critical']);
const DriftType = z.enum(['factual', 'goal', 'contradiction', 'entropy']);
const read = (description: string, value: unknown) => ({ description, read: () => value });

export type DriftVerdict = { level: z.infer<typeof DriftLevel>; types: z.infer<typeof DriftType>[]; notes: string[] };

export async function analyzeDrift(
  model: LanguageModel,
  input: { current: unknown; previous: unknown; openContradictions: unknown; deterministic: DriftVerdict },
  signal?: AbortSignal,
): Promise<DriftVerdict | undefined> {
  const d = await decide(model, {
    id: 'drift-analyst',
    instructions: `You assess drift between the previous and the current facts of a due-diligence scope.
Read the facts, then call recordDrift once: level (none, low, medium, high, critical) and types
(factual: a figure restated with another value; goal: the goals changed; contradiction: open contradictions;
entropy: the evidence is getting noisier). Contradictions already resolved by a later revision do not count.`,
    prompt: `The deterministic assessment is ${JSON.stringify(input.deterministic)}. Confirm or correct it.`,
    reads: {
      readCurrentFacts: read('The current facts, by document', input.current),
      readPreviousFacts: read('The facts before the latest documents', input.previous),
      readOpenContradictions: read('Contradictions that are still open', input.openContradictions),
    },
    decisions: {
      recordDrift: {
        description: 'Record the drift assessment',
        input: z.object({ level: DriftLevel, types: z.array(DriftType).max(4), notes: z.array(z.string().max(500)).max(10) }),
      },
    },
    ...(signal ? { signal } : {}),
  });
  return d ? (d.args as DriftVerdict) : undefined;
}

export async function planActions(
  model: LanguageModel,
  input: { drift: unknown; rules: unknown; ruleActions: string[]; feedback?: { responder: string; note: string | null } },
  signal?: AbortSignal,
): Promise<{ actions: string[]; reasoning: string } | undefined> {
  const d = await decide(model, {
    id: 'planner',
    instructions: `You plan the next actions of a due-diligence swarm from the current drift and the governance rules.
Call recordPlan once with a short list of actions (snake_case) and your reasoning.`,
    prompt:
      `The rule table suggests ${JSON.stringify(input.ruleActions)}.` +
      // Untrusted text from a person: quoted as data, the instructions above still hold.
      (input.feedback ? ` A reviewer (${input.feedback.responder}) rejected the previous plan with this note, to be taken into account: ${JSON.stringify(input.feedback.note ?? '(no note)')}.` : ''),
    reads: { readDrift: read('The current drift', input.drift), readGovernanceRules: read('The governance drift rules', input.rules) },
    decisions: {
      recordPlan: {
        description: 'Record the plan',
        input: z.object({ actions: z.array(z.string().regex(/^[a-z][a-z0-9_]{1,63}$/)).max(10), reasoning: z.string().max(2000) }),
      },
    },
    ...(signal ? { signal } : {}),
  });
  return d ? (d.args as { actions: string[]; reasoning: string }) : undefined;
}

export async function writeBriefing(model: LanguageModel, input: { summary: unknown; template: string }, signal?: AbortSignal): Promise<string | undefined> {
  const d = await decide(model, {
    id: 'status',
    instructions: 'You write a two-to-three sentence status briefing of a due-diligence scope for its stakeholders. Call writeBriefing once.',
    prompt: `Facts for the briefing: ${input.template}`,
    reads: { readSummary: read('The scope summary', input.summary) },
    decisions: { writeBriefing: { description: 'Publish the briefing', input: z.object({ text: z.string().min(1).max(2000) }) } },
    ...(signal ? { signal } : {}),
  });
  return d ? String(d.args.text) : undefined;
}

/** Tier 2: the oversight agent only routes the deterministic decision. */
export type OversightRoute = 'acceptDeterministic' | 'escalateToLLM' | 'escalateToHuman';

export async function oversee(
  model: LanguageModel,
  input: { proposal: unknown; deterministic: unknown; drift: unknown },
  signal?: AbortSignal,
): Promise<{ route: OversightRoute; reason: string } | undefined> {
  const reason = z.object({ reason: z.string().min(1).max(1000) });
  const d = await decide(model, {
    id: 'governance-oversight',
    instructions: `You oversee a deterministic governance decision on a state-change proposal. You cannot change it, only route it:
acceptDeterministic when it is sound; escalateToLLM when the case needs a closer look at state, drift and policy;
escalateToHuman when a person must decide. Call exactly one of the three tools.`,
    prompt: `Proposal ${JSON.stringify(input.proposal)}; deterministic decision ${JSON.stringify(input.deterministic)}; drift ${JSON.stringify(input.drift)}.`,
    decisions: {
      acceptDeterministic: { description: 'The deterministic decision stands', input: reason },
      escalateToLLM: { description: 'Ask the full governance agent', input: reason },
      escalateToHuman: { description: 'A human must decide', input: reason },
    },
    maxSteps: 3,
    ...(signal ? { signal } : {}),
  });
  return d ? { route: d.tool, reason: String(d.args.reason) } : undefined;
}

/** Tier 3: the tool-calling governance agent reads state, drift and policy and decides. */
export async function governWithAgent(
  model: LanguageModel,
  input: { proposal: unknown; state: unknown; drift: unknown; policy: unknown; transitionCheck: unknown },
  signal?: AbortSignal,
): Promise<{ decision: 'approve' | 'reject'; rationale: string } | undefined> {
  const rationale = z.object({ rationale: z.string().min(1).max(2000) });
  const d = await decide(model, {
    id: 'governance-agent',
    instructions: `You decide whether a proposal to advance a scope's state may proceed. Read the state, the drift, the
governance policy and the deterministic transition check, then call approve or reject once, with a rationale.`,
    prompt: `Proposal ${JSON.stringify(input.proposal)}.`,
    reads: {
      readState: read('The scope state (node, epoch)', input.state),
      readDrift: read('The current drift', input.drift),
      readGovernanceRules: read('The governance policy', input.policy),
      checkTransition: read('The deterministic transition check', input.transitionCheck),
    },
    decisions: {
      approve: { description: 'Approve the proposal', input: rationale },
      reject: { description: 'Reject the proposal', input: rationale },
    },
    maxSteps: 12,
    ...(signal ? { signal } : {}),
  });
  return d ? { decision: d.tool, rationale: String(d.args.rationale) } : undefined;
}

/** The explanation attached to a human finality review. */
export async function explainReview(model: LanguageModel, input: { review: unknown }, signal?: AbortSignal): Promise<string | undefined> {
  const d = await decide(model, {
    id: 'review-explainer',
    instructions: `Explain to a human reviewer why a due-diligence scope is not final yet: the blockers per dimension, the
smallest steps that would resolve them, and whether the trajectory suggests accepting it as is. Call explain once.`,
    prompt: 'Explain this review request.',
    reads: { readReview: read('The review request (score, V, alpha, ETA, bottleneck, blockers)', input.review) },
    decisions: { explain: { description: 'Attach the explanation', input: z.object({ text: z.string().min(1).max(4000) }) } },
    ...(signal ? { signal } : {}),
  });
  return d ? String(d.args.text) : undefined;
}
