// What the route modules share, so that they import this module and never each other:
// dependencies, the app type, the routes' common state, the permission check that
// records its decision, and the scope lookups every scoped route starts with.
import type { OpenAPIHono } from '@hono/zod-openapi';
import type { JetStreamClient } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import type { Context } from 'hono';
import type { Authorizer, AuthzAdmin } from '../../shared/adapters/authz.ts';
import type { Env } from '../../shared/config.ts';
import type { Logger } from '../../shared/log.ts';
import type { PolicySource } from '../../shared/policy/load.ts';
import type { Deps } from '../../shared/runtime/deps.ts';
import type { GuardedPool } from '../../shared/runtime/guarded.ts';
import type { Queryable } from '../../shared/store/db.ts';
import { getScope, type Scope } from '../../shared/store/scopes.ts';
import { ApiError, scopeNotFound } from './errors.ts';
import { recordAccess } from './queries.ts';

/** What the API reads from the one dependency container (shared/runtime/deps.ts), and its bus. */
export interface ApiDeps extends Pick<Deps, 'env' | 'db' | 'authz' | 'authzAdmin' | 'policies'> {
  nc: NatsConnection;
  js: JetStreamClient;
  log?: Logger;
  /** Aborted at shutdown: open event streams end, new ones are refused. */
  shutdown?: AbortSignal;
}

export type Vars = { principal: string; requestId: string; clientRequestId?: string };
export type ApiApp = OpenAPIHono<{ Variables: Vars }>;
export type ApiContext = Context<{ Variables: Vars }>;

/** What every route module is registered with (routes/index.ts builds it once per app). */
export interface Routes {
  app: ApiApp;
  deps: ApiDeps;
  db: GuardedPool;
  authz: Authorizer;
  log: Logger;
  policies: PolicySource;
  streams: StreamCount;
}

/** Open event streams of this process (bounded by API_SSE_MAX_STREAMS). */
export class StreamCount {
  open = 0;
  /** Take a slot if fewer than `max` are taken; synchronous, so two requests cannot both take the last one. */
  reserve(max: number): boolean {
    if (this.open >= max) return false;
    this.open++;
    return true;
  }
  release(): void {
    this.open--;
  }
}

/** The scope row, or 404. */
export async function mustGetScope(q: Queryable, scope: string): Promise<Scope> {
  const s = await getScope(q, scope);
  if (!s) throw scopeNotFound(scope);
  return s;
}

/** 409 for what a closed scope no longer takes (documents, answers, pause, resume). */
export const scopeClosed = (scope: string, s: Pick<Scope, 'heldBy' | 'heldSince'>, what = 'takes no more documents') =>
  new ApiError(409, 'scope_closed', `scope "${scope}" was closed${s.heldBy ? ` by ${s.heldBy}` : ''}${s.heldSince ? ` at ${s.heldSince.toISOString()}` : ''}: it ${what}; its history and certificates can still be read`);

export interface Permission {
  /** What the request does, for the access log: document.submit, scope.read, ... */
  action: string;
  relation: 'reader' | 'ingester' | 'reviewer' | 'operator';
  /** OpenFGA object: scope:<id> or swarm:main. */
  object: string;
  /**
   * Or this relation instead (a review escalated by its deadline: member of its group).
   * Asked only when the first is denied; the access log names the one that allowed.
   */
  or?: { relation: 'member'; object: string };
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
  let res = await deps.authz.check({ user: principal, relation: p.relation, object: p.object });
  let granted: { relation: string; object: string } = p;
  if (!res.allowed && res.reason === 'denied' && p.or) {
    const alt = await deps.authz.check({ user: principal, relation: p.or.relation, object: p.or.object });
    // Denied both ways: the first relation's denial is what is recorded and said.
    if (alt.allowed || alt.reason !== 'denied') {
      res = alt;
      granted = p.or;
    }
  }
  let accessId: number | null = null;
  if (!res.allowed || p.write) {
    try {
      accessId = await recordAccess(deps.db, {
        requestId: c.get('requestId'),
        principal,
        action: p.action,
        scope: p.scope,
        object: granted.object,
        relation: granted.relation,
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
