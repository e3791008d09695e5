// The HTTP API as one Hono app (web-standard Request/Response): served by `npm run
// api` (@hono/node-server), called in-process with app.fetch, or run on Lambda.
//
// Thin on purpose: it authenticates, validates, authorizes (OpenFGA), reads, and
// publishes messages; the step functions do the writes. Its own writes are the scope
// row (PUT /v1/scopes/{scope}) and the access log.
//
// Every request (middleware.ts): request id (ours) → trace span and log line → (under /v1) bearer token →
// body limit → validation of path, query, headers and body → permission → handler.
// Every error: { error: { code, message, details?, request_id } } (errors.ts).
import { OpenAPIHono } from '@hono/zod-openapi';
import { createHash, timingSafeEqual } from 'node:crypto';
import { secureHeaders } from 'hono/secure-headers';
import { PROMETHEUS_CONTENT_TYPE, metricsEnabled, metricsText } from '../../shared/adapters/metrics.ts';
import { logger } from '../../shared/log.ts';
import { authenticate, authSetup } from './auth.ts';
import type { ApiApp, ApiDeps, Vars } from './context.ts';
import { errorResponse, toErrorResponse, validationHook } from './errors.ts';
import { limitBody, noStore, requestId, traceAndLog } from './middleware.ts';
import { registerRoutes } from './routes/index.ts';
import { uiRoutes } from './ui/routes.ts';

export type { ApiApp, ApiDeps };

export const API_VERSION = '1.0.0';

/**
 * The API bound to its dependencies. Throws ConfigError when no token is configured
 * outside dev mode (or a token entry is malformed): it refuses to run, not to check.
 */
export function createApi(deps: ApiDeps): ApiApp {
  const auth = authSetup(deps.env);
  const log = deps.log ?? logger('api');
  if (auth.open) {
    log.warn('API_DEV_MODE=true and no API token configured: every request is treated as agent:api, unauthenticated. Development only.');
  }
  const app: ApiApp = new OpenAPIHono<{ Variables: Vars }>({ defaultHook: validationHook });

  app.use('*', requestId);
  app.use('*', secureHeaders());
  app.use('*', traceAndLog(log));
  metricsRoute(app, deps.env.METRICS_TOKEN);
  app.use('/v1/*', authenticate(auth));
  // Authenticated first (a header check), then the body limit: an anonymous client cannot make us read.
  app.use('/v1/*', limitBody);
  app.use('/v1/*', noStore);

  registerRoutes({ app, deps, db: deps.db, authz: deps.authz, log, policies: deps.policies });
  // The console (GET / and /ui/...): a public shell whose script calls /v1 with the token.
  uiRoutes(app, (err) => log.warn({ err }, 'console assets not found: GET /ui/ answers 503'));

  app.openAPIRegistry.registerComponent('securitySchemes', 'bearer', {
    type: 'http',
    scheme: 'bearer',
    description: 'API_TOKEN (agent:api) or a token from API_TOKENS',
  });
  app.doc31('/openapi.json', {
    openapi: '3.1.0',
    info: {
      title: 'Governed Swarm API',
      version: API_VERSION,
      description:
        'Ingest documents into scopes, read summaries and convergence, answer reviews, fetch certificates and the JWKS, follow a scope\'s events. Every error is { "error": { "code", "message", "details"?, "request_id" } }.',
    },
  });

  app.notFound((c) => errorResponse(c, 404, 'not_found', `no route ${c.req.method} ${c.req.path}`));
  app.onError((err, c) => toErrorResponse(err, c, (e) => log.error({ err: e, request_id: c.get('requestId'), path: c.req.path }, 'request failed')));
  return app;
}

/**
 * GET /metrics on the API's own port, behind its own bearer token (METRICS_TOKEN): the
 * API port faces clients, and a scraper's credential should open metrics, not /v1.
 * Without the token configured the route does not exist (404 like any unknown path).
 */
function metricsRoute(app: ApiApp, token: string): void {
  if (!token) return;
  const want = createHash('sha256').update(token).digest();
  app.get('/metrics', async (c) => {
    const got = createHash('sha256').update(c.req.header('authorization')?.replace(/^Bearer /i, '') ?? '').digest();
    if (!timingSafeEqual(got, want)) return errorResponse(c, 401, 'unauthorized', 'GET /metrics needs the METRICS_TOKEN bearer token');
    if (!metricsEnabled()) return errorResponse(c, 404, 'not_found', 'metrics are disabled in this process (METRICS_ENABLED=false)');
    return c.body(await metricsText(), 200, { 'Content-Type': PROMETHEUS_CONTENT_TYPE, 'Cache-Control': 'no-store' });
  });
}
