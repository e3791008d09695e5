// A scope's webhooks (notifications, README "Notifications"): list, read, create or
// replace, delete. Permission: operator on the scope. The secret is returned once,
// when the server generated it, and never by a read.
import { randomBytes } from 'node:crypto';
import { createRoute } from '@hono/zod-openapi';
import { bodyLimit } from 'hono/body-limit';
import { NOTIFY_EVENTS } from '../../../shared/notify/events.ts';
import { parseAllowNets, refusedDestination } from '../../../shared/notify/address.ts';
import { MAX_SCOPE_WEBHOOKS } from '../../../shared/notify/webhook.ts';
import { deleteWebhook, getWebhook, listWebhooks, putWebhook, type ScopeWebhook } from '../../../shared/store/webhooks.ts';
import { authorize, mustGetScope, type Routes } from '../context.ts';
import { ApiError, errorResponse } from '../errors.ts';
import { bearer, errors, json } from '../openapi.ts';
import { readOnly } from '../queries.ts';
import { ScopeParam, WebhookBody, WebhookList, WebhookParam, WebhookSaved, WebhookJson } from '../schemas.ts';

/** A webhook's configuration is small; anything larger is refused before it is read. */
const MAX_WEBHOOK_BODY = 8 * 1024;
const limit = bodyLimit({
  maxSize: MAX_WEBHOOK_BODY,
  onError: (c) => errorResponse(c, 413, 'payload_too_large', `body: more than ${MAX_WEBHOOK_BODY} bytes; a webhook is a url, events, a format and a secret`),
});

const webhookJson = (w: ScopeWebhook) => ({
  id: w.id,
  scope: w.scope,
  url: w.url,
  events: w.events,
  format: w.format,
  created_by: w.createdBy,
  created_at: w.createdAt.toISOString(),
  updated_at: w.updatedAt.toISOString(),
});

const notFound = (scope: string, id: string) => new ApiError(404, 'webhook_not_found', `scope "${scope}" has no webhook "${id}"`);
const DESC = 'Permission: operator on the scope (a principal that cannot read the scope gets 404, as for a missing one).';

const listRoute = createRoute({
  method: 'get',
  path: '/v1/scopes/{scope}/webhooks',
  summary: "A scope's webhooks (no secrets)",
  description: DESC,
  tags: ['webhooks'],
  security: bearer,
  request: { params: ScopeParam },
  responses: { 200: json(WebhookList, 'The webhooks'), ...errors(400, 401, 403, 404, 503) },
});
const getRoute = createRoute({
  method: 'get',
  path: '/v1/scopes/{scope}/webhooks/{id}',
  summary: 'One webhook (no secret)',
  description: DESC,
  tags: ['webhooks'],
  security: bearer,
  request: { params: WebhookParam },
  responses: { 200: json(WebhookJson, 'The webhook'), ...errors(400, 401, 403, 404, 503) },
});
const putRoute = createRoute({
  method: 'put',
  path: '/v1/scopes/{scope}/webhooks/{id}',
  summary: 'Create or replace a webhook',
  description:
    `Events: ${NOTIFY_EVENTS.join(', ')}. The url must be http(s), without credentials, and reach a public address (or one WEBHOOK_ALLOW_NETS lists): 400 webhook_url_refused otherwise. ` +
    `A secret not given is generated and returned once (a replace without one keeps the stored one). At most ${MAX_SCOPE_WEBHOOKS} webhooks a scope (409 too_many_webhooks). ${DESC}`,
  tags: ['webhooks'],
  security: bearer,
  middleware: [limit] as const,
  request: { params: WebhookParam, body: { content: { 'application/json': { schema: WebhookBody } }, required: true } },
  responses: { 200: json(WebhookSaved, 'Replaced'), 201: json(WebhookSaved, 'Created'), ...errors(400, 401, 403, 404, 409, 413, 415, 503) },
});
const deleteRoute = createRoute({
  method: 'delete',
  path: '/v1/scopes/{scope}/webhooks/{id}',
  summary: 'Delete a webhook (notifications not yet sent to it are dropped)',
  description: DESC,
  tags: ['webhooks'],
  security: bearer,
  request: { params: WebhookParam },
  responses: { 204: { description: 'Deleted' }, ...errors(400, 401, 403, 404, 503) },
});

export function webhookRoutes(app: Routes['app'], r: Routes): void {
  const allow = parseAllowNets(r.deps.env.WEBHOOK_ALLOW_NETS);

  app.openapi(listRoute, async (c) => {
    const { scope } = c.req.valid('param');
    await authorize(r, c, { action: 'webhook.list', relation: 'operator', object: `scope:${scope}`, scope, write: false });
    const hooks = await readOnly(r.deps.db, async (q) => (await mustGetScope(q, scope), listWebhooks(q, scope)));
    return c.json({ scope, webhooks: hooks.map(webhookJson) }, 200);
  });

  app.openapi(getRoute, async (c) => {
    const { scope, id } = c.req.valid('param');
    await authorize(r, c, { action: 'webhook.read', relation: 'operator', object: `scope:${scope}`, scope, write: false });
    const w = await readOnly(r.deps.db, async (q) => (await mustGetScope(q, scope), getWebhook(q, scope, id)));
    if (!w) throw notFound(scope, id);
    return c.json(webhookJson(w), 200);
  });

  app.openapi(putRoute, async (c) => {
    const { scope, id } = c.req.valid('param');
    const body = c.req.valid('json');
    await authorize(r, c, { action: 'webhook.put', relation: 'operator', object: `scope:${scope}`, scope, write: true, target: id });
    const refused = await refusedDestination(body.url, allow);
    if (refused) throw new ApiError(400, 'webhook_url_refused', `url: ${refused}`);
    const generated = body.secret ? undefined : `whsec_${randomBytes(32).toString('base64url')}`;
    const res = await r.deps.db.transaction(async (tx) => {
      await mustGetScope(tx, scope);
      const existing = await getWebhook(tx, scope, id);
      // A replace without a secret keeps the stored one (and shows nothing).
      const secret = body.secret ?? (existing ? null : generated!);
      const out = await putWebhook(tx, { scope, id, url: body.url, events: body.events ?? [...NOTIFY_EVENTS], format: body.format ?? 'json', secret, by: c.get('principal') }, MAX_SCOPE_WEBHOOKS);
      return { out, shown: !existing && !body.secret ? generated : undefined };
    });
    if ('tooMany' in res.out) throw new ApiError(409, 'too_many_webhooks', `scope "${scope}" has ${MAX_SCOPE_WEBHOOKS} webhooks already; delete one first`);
    return c.json({ webhook: webhookJson(res.out.webhook), ...(res.shown ? { secret: res.shown } : {}) }, res.out.created ? 201 : 200);
  });

  app.openapi(deleteRoute, async (c) => {
    const { scope, id } = c.req.valid('param');
    await authorize(r, c, { action: 'webhook.delete', relation: 'operator', object: `scope:${scope}`, scope, write: true, target: id });
    const gone = await r.deps.db.transaction(async (tx) => (await mustGetScope(tx, scope), deleteWebhook(tx, scope, id)));
    if (!gone) throw notFound(scope, id);
    return c.body(null, 204);
  });
}
