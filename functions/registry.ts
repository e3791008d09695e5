// The agent steps of the swarm, in one list (the API, functions/api, is an HTTP app,
// not a step): the names, budgets and memory of functions/budgets.ts bound to their
// modules. The bridge runs this list unless BRIDGE_FUNCTIONS names modules.
import type { Step } from '../shared/runtime/step.ts';
import { STEP_NAMES, type StepName } from './budgets.ts';
import { step as drift } from './drift/index.ts';
import { step as executor } from './executor/index.ts';
import { step as facts } from './facts/index.ts';
import { step as finality } from './finality/index.ts';
import { step as governance } from './governance/index.ts';
import { step as notifier } from './notifier/index.ts';
import { step as planner } from './planner/index.ts';
import { step as status } from './status/index.ts';

// Typed on the budgets' names: a step missing here, or one without a budget, does not compile.
const BY_NAME: Readonly<Record<StepName, Step>> = { facts, drift, planner, status, governance, executor, finality, notifier };

export const SWARM_STEPS: readonly Step[] = STEP_NAMES.map((name) => {
  const step = BY_NAME[name];
  if (step.name !== name) throw new Error(`functions/registry.ts: the module listed as ${name} defines the step ${step.name}`);
  return step;
});
