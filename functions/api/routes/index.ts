// Every route of the API, registered on one OpenAPIHono app.
import { StreamCount, type Routes } from '../context.ts';
import { certificateRoutes } from './certificates.ts';
import { eventRoutes } from './events.ts';
import { healthRoutes } from './health.ts';
import { holdRoutes } from './hold.ts';
import { readRoutes } from './read.ts';
import { reviewRoutes } from './reviews.ts';
import { scopeRoutes } from './scopes.ts';
import { webhookRoutes } from './webhooks.ts';

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
