// The agent steps of the swarm, in one list (the API, functions/api, is an HTTP app, not a step).
import type { Step } from '../shared/runtime/step.ts';
import { step as drift } from './drift/index.ts';
import { step as executor } from './executor/index.ts';
import { step as facts } from './facts/index.ts';
import { step as finality } from './finality/index.ts';
import { step as governance } from './governance/index.ts';
import { step as notifier } from './notifier/index.ts';
import { step as planner } from './planner/index.ts';
import { step as status } from './status/index.ts';

export const SWARM_STEPS: readonly Step[] = [facts, drift, planner, status, governance, executor, finality, notifier];
