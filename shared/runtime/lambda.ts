// AWS Lambda: the same Hono app, behind API Gateway (v1/v2), a function URL or an
// ALB. Function modules export `step.handler` (defineStep builds it and checks the
// invoke token at cold start); this is the same handler for code that holds a Step.
import type { LambdaHandler, Step } from './step.ts';

export const lambdaHandler = (step: Step): LambdaHandler => step.handler;
