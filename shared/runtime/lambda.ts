// AWS Lambda: the same Hono app, behind API Gateway (v1/v2), a function URL or an
// ALB. A function module exports `handler = lambdaHandler(step)`.
// On Lambda the invoke token is checked at cold start: a deployment without one
// fails to start instead of serving an open /invoke. (Elsewhere, e.g. when the bridge
// imports the module to run the step in-process, nothing is checked here.)
import { handle } from 'hono/aws-lambda';
import { config } from '../config.ts';
import { assertInvokeToken, type Step } from './step.ts';

export const lambdaHandler = (step: Step) => {
  if (process.env.AWS_LAMBDA_FUNCTION_NAME) assertInvokeToken(config());
  return handle(step.app);
};
