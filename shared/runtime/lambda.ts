// AWS Lambda: the same Hono app, behind API Gateway (v1/v2), a function URL or an
// ALB. A function module exports `handler = lambdaHandler(step)`.
import { handle } from 'hono/aws-lambda';
import type { Step } from './step.ts';

export const lambdaHandler = (step: Step) => handle(step.app);
