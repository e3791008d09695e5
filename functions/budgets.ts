// The steps of the swarm, as data: each one's name, how long it may run and the
// Lambda memory it gets. functions/registry.ts binds these names to their modules
// (the type system holds the two to the same names), the bridge runs that list, and
// infra/sst/functions.ts makes one Lambda per entry. Data only, so that the
// deployment reads it without loading the steps' code.
//
// How long each step may run: its own work, plus the timeouts of the LLM roles it
// calls one after another (LLM_TIMEOUT_MS_<ROLE>, shared/llm/roles.ts). The step's
// deadline, the bridge's HTTP timeout and the Lambda timeout (infra/sst/functions.ts)
// all come from here, so a slow model given a long budget is not cut off by the step.
import type { LlmRole } from '../shared/llm/roles.ts';

export interface StepBudget {
  /** The work besides the model calls (with no model, the whole deadline). */
  readonly timeoutMs: number;
  /** The LLM roles the step calls, in sequence. */
  readonly llm: readonly LlmRole[];
}

export const STEP_BUDGETS = {
  // The offline extractor (EXTRACT_TIMEOUT_MS) also runs when the model fails.
  facts: { timeoutMs: 90_000, llm: ['facts'] },
  drift: { timeoutMs: 90_000, llm: ['drift'] },
  planner: { timeoutMs: 60_000, llm: ['planner'] },
  status: { timeoutMs: 30_000, llm: ['status'] },
  // Oversight may hand the decision to the tool-calling agent: both in one run.
  governance: { timeoutMs: 30_000, llm: ['governance_oversight', 'governance_tools'] },
  executor: { timeoutMs: 30_000, llm: [] },
  finality: { timeoutMs: 60_000, llm: ['review_explanation'] },
  // One POST at a time, above the longest NOTIFY_TIMEOUT_MS allows (60 s).
  notifier: { timeoutMs: 70_000, llm: [] },
} as const satisfies Record<string, StepBudget>;

export type StepName = keyof typeof STEP_BUDGETS;

/** The step names, in the order above (the order the swarm lists its steps in). */
export const STEP_NAMES = Object.keys(STEP_BUDGETS) as StepName[];

/** Lambda memory per step (MB): the extractor's NLP models need more than the rest. */
export const STEP_MEMORY_MB: Readonly<Record<StepName, number>> = {
  facts: 1024,
  drift: 512,
  planner: 512,
  status: 512,
  governance: 512,
  executor: 512,
  finality: 512,
  notifier: 512,
};
