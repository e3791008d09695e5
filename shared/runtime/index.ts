// What a function module needs:
//   export const step = defineStep({ name, consumes, handle(msg, ctx) { ... } });
//   export const app = step.app;
//   export const handler = lambdaHandler(step);
export { defineStep, type Idempotency, type Step, type StepContext, type StepDefinition, type StepOutput } from './step.ts';
export { lambdaHandler } from './lambda.ts';
export { createDeps, processDeps, type Deps } from './deps.ts';
export type { IdempotencyStore, Statement, StoredResult } from './inbox/store.ts';
export { PermanentError, TransientError } from '../contract/errors.ts';
