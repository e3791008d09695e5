// How an agent step is declared: defineStep with what follows from the step's name —
// it may emit its row of PUBLISHERS (shared/contract/messages.ts), runs within its
// budget (functions/budgets.ts, passed in: shared/ does not import functions/), and,
// with `holds`, waits out a paused scope and skips a closed one (./hold.ts).
import { PUBLISHERS, type Publisher } from '../contract/messages.ts';
import { defineStep, type Step, type StepDefinition } from '../runtime/step.ts';
import { holdable, RELEASE_TYPE } from './hold.ts';

export type AgentName = Exclude<Publisher, 'api' | 'ticker'>;

export interface AgentStepDefinition extends Omit<StepDefinition, 'name' | 'emits' | 'timeoutMs' | 'llm'> {
  /** Hold while the scope is paused, do nothing once it is closed: wraps `handle` and adds 'hold.released' to `consumes`. */
  holds?: boolean;
}

export function defineAgentStep(name: AgentName, budget: Pick<StepDefinition, 'timeoutMs' | 'llm'>, def: AgentStepDefinition): Step {
  const { holds, ...rest } = def;
  return defineStep({
    ...rest,
    name,
    emits: PUBLISHERS[name],
    timeoutMs: budget.timeoutMs,
    llm: budget.llm,
    consumes: holds ? [...def.consumes, RELEASE_TYPE] : def.consumes,
    handle: holds ? holdable(def.handle) : def.handle,
  });
}
