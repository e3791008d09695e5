// What the routes share: dependencies, the app type, and the permission check that
// records its decision.
import type { OpenAPIHono } from '@hono/zod-openapi';
import type { JetStreamClient } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import type { Context } from 'hono';
import type { Authorizer, AuthzAdmin } from '../../shared/adapters/authz.ts';
import type { Env } from '../../shared/config.ts';
import type { Logger } from '../../shared/log.ts';
import type { PolicySource } from '../../shared/policy/load.ts';
import type { Db } from '../../shared/runtime/guarded.ts';
import { ApiError, scopeNotFound } from './errors.ts';
import { recordAccess } from './queries.ts';

export interface ApiDeps {
  env: Env;
  /** Postgres behind its breaker (createDeps().db). */
  db: Db;
  /** OpenFGA checks; fail closed. */
  authz: Authorizer;
  /** Writes the scope's link to the swarm when a scope is created. */
  authzAdmin: AuthzAdmin;
  nc: NatsConnection;
  js: JetStreamClient;
  /** governance.yaml / finality.yaml; default from GOVERNANCE_PATH / FINALITY_PATH. */
  policies?: PolicySource;
  log?: Logger;
  /** Aborted at shutdown: open event streams end, new ones are refused. */
  shutdown?: AbortSignal;
}

export type Vars = { principal: string; requestId: string; clientRequestId?: string };
export type ApiApp = OpenAPIHono<{ Variables: Vars }>;
export type ApiContext = Context<{ Variables: Vars }>;

export interface Permission {
  /** What the request does, for the access log: document.submit, scope.read, ... */
  action: string;
  relation: 'reader' | 'ingester' | 'reviewer' | 'operator';
  /** OpenFGA object: scope:<id> or swarm:main. */
  object: string;
  scope: string | null;
  /** Record an allow too (writes); denials are always recorded. */
  write: boolean;
  /** What the write acts on (a review id), recorded with it. */
  target?: string;
  /**
   * What a denied principal that cannot even read the scope is told: the not-found
   * answer of what it asked for, so that it cannot tell an existing id from a missing
   * one. Default, for a scope object: 404 scope_not_found.
   */
  hidden?: ApiError;
}

/**
 * Check the principal's relation in OpenFGA. Denied: recorded in access_log, 403, or
 * 404 (p.hidden) when the principal cannot read the scope either.
 * OpenFGA unreachable or unconfigured: recorded, 503 (fails closed, never allows).
 * An allowed write is recorded before it happens; if the record cannot be written
 * the write does not happen (503): no unaudited writes.
 */
export async function authorize(deps: Required<Pick<ApiDeps, 'db' | 'authz' | 'log'>>, c: ApiContext, p: Permission): Promise<number | null> {
  const principal = c.get('principal');
  const res = await deps.authz.check({ user: principal, relation: p.relation, object: p.object });
  let accessId: number | null = null;
  if (!res.allowed || p.write) {
    try {
      accessId = await recordAccess(deps.db, {
        requestId: c.get('requestId'),
        principal,
        action: p.action,
        scope: p.scope,
        object: p.object,
        relation: p.relation,
        allowed: res.allowed,
        reason: res.reason,
        detail: res.detail,
        target: p.target,
      });
    } catch (err) {
      deps.log.error({ err, principal, action: p.action, object: p.object, allowed: res.allowed }, 'access log write failed');
      if (res.allowed) throw new ApiError(503, 'audit_unavailable', 'the access log cannot be written; nothing was done', { headers: { 'Retry-After': '2' } });
    }
  }
  if (res.allowed) return accessId;
  deps.log.warn({ principal, action: p.action, object: p.object, relation: p.relation, reason: res.reason }, 'access denied');
  if (res.reason === 'unavailable' || res.reason === 'unconfigured') {
    throw new ApiError(503, 'authz_unavailable', `permission check failed closed (${res.reason}): ${res.detail ?? 'OpenFGA did not answer'}`, {
      headers: { 'Retry-After': '2' },
    });
  }
  const hidden = p.hidden ?? (p.scope !== null && p.object === `scope:${p.scope}` ? scopeNotFound(p.scope) : undefined);
  if (hidden && res.reason === 'denied') {
    // 403 only tells a reader of the scope what it knows already; anyone else gets 404.
    const reads = p.relation === 'reader' ? res : await deps.authz.check({ user: principal, relation: 'reader', object: p.object });
    if (!reads.allowed && reads.reason === 'denied') throw hidden;
    if (!reads.allowed) throw new ApiError(503, 'authz_unavailable', `permission check failed closed (${reads.reason})`, { headers: { 'Retry-After': '2' } });
  }
  throw new ApiError(403, 'forbidden', `${principal} has no ${p.relation} relation on ${p.object} (${p.action} denied${res.reason === 'invalid' ? `: ${res.detail}` : ''})`);
}
