// Every route of the API, registered on one OpenAPIHono app.
import type { Authorizer } from '../../../shared/adapters/authz.ts';
import type { Logger } from '../../../shared/log.ts';
import type { PolicySource } from '../../../shared/policy/load.ts';
import type { Db } from '../../../shared/runtime/guarded.ts';
import type { ApiApp, ApiDeps } from '../context.ts';
import { certificateRoutes } from './certificates.ts';
import { StreamCount, eventRoutes } from './events.ts';
import { healthRoutes } from './health.ts';
import { holdRoutes } from './hold.ts';
import { readRoutes } from './read.ts';
import { reviewRoutes } from './reviews.ts';
import { scopeRoutes } from './scopes.ts';
import { webhookRoutes } from './webhooks.ts';

export interface Routes {
  app: ApiApp;
  deps: ApiDeps;
  db: Db;
  authz: Authorizer;
  log: Logger;
  policies: PolicySource;
  streams: StreamCount;
}

export function registerRoutes(r: Omit<Routes, 'streams'>): Routes {
  const routes: Routes = { ...r, streams: new StreamCount() };
  healthRoutes(r.app, routes);
  scopeRoutes(r.app, routes);
  reviewRoutes(r.app, routes);
  holdRoutes(r.app, routes);
  certificateRoutes(r.app, routes);
  eventRoutes(r.app, routes);
  readRoutes(r.app, routes);
  webhookRoutes(r.app, routes);
  return routes;
}
