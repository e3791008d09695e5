// The API as a function module: `app` (web-standard fetch) and `handler` (AWS Lambda
// behind API Gateway, a function URL or an ALB). Importing it does nothing else (a
// process that loads function modules, like the bridge, must not need an API token):
// the app is built on the process's dependency container (processDeps), and NATS
// connected, on the first request. On Lambda the
// token configuration is checked at cold start, so a deployment without one fails to
// start instead of answering errors.
// Locally, `npm run api` (infra/api/main.ts) serves the same createApi().
// Event streams need a streaming response: on Lambda, use a function URL with
// hono/aws-lambda's streamHandle instead of `handler` (not done here).
import { Hono } from 'hono';
import { handle } from 'hono/aws-lambda';
import { BUS_IDENTITY } from '../../shared/contract/bus-identity.ts';
import { connectBus, jetStream } from '../../shared/adapters/bus.ts';
import { ConfigError, config } from '../../shared/config.ts';
import { logger } from '../../shared/log.ts';
import { processDeps } from '../../shared/runtime/deps.ts';
import { createApi, type ApiApp } from './app.ts';
import { authSetup } from './auth.ts';

if (process.env.AWS_LAMBDA_FUNCTION_NAME) authSetup(config());

let built: Promise<ApiApp> | undefined;
async function build(): Promise<ApiApp> {
  const env = config();
  authSetup(env); // before any connection is opened
  const deps = processDeps();
  const nc = await connectBus(env, 'api', BUS_IDENTITY.api);
  const { js } = await jetStream(nc);
  return createApi({ env, db: deps.db, authz: deps.authz, authzAdmin: deps.authzAdmin, policies: deps.policies, nc, js });
}

export const app = new Hono();
app.onError((err, c) => {
  // The caller may be anyone, authenticated or not: the detail (which variable, which
  // host could not be reached) goes to the log, the answer says only that we are not up.
  const misconfigured = err instanceof ConfigError;
  logger('api').error({ err }, misconfigured ? 'API misconfigured: refusing requests' : 'API could not be built');
  c.header('Cache-Control', 'no-store');
  return c.json({ error: { code: 'unavailable', message: 'the service is unavailable' } }, 503);
});
app.all('*', async (c) => {
  // A failed connect is retried by the next request instead of being cached.
  built ??= build().catch((err: unknown) => {
    built = undefined;
    throw err;
  });
  return (await built).fetch(c.req.raw, c.env);
});

export const handler = handle(app);
