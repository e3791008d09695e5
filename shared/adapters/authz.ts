// Permission checks against OpenFGA. Fails closed: with no store configured, an unknown
// store or model, or OpenFGA unreachable, the answer is "denied" with a reason. The only
// way around it is AUTHZ_DISABLED=true, refused in production and logged loudly.
// Calls go through a named circuit breaker with one retry (resilientPolicy): while
// OpenFGA is down, checks fail fast as "unavailable" instead of each waiting out a timeout.
import { OpenFgaClient, ClientWriteRequestOnDuplicateWrites, ClientWriteRequestOnMissingDeletes, CredentialsMethod } from '@openfga/sdk';
import { TimeoutStrategy, timeout, wrap, type IPolicy } from 'cockatiel';
import type { Env } from '../config.ts';
import { PermanentError, TransientError } from '../contract/errors.ts';
import { BrokenCircuitError, resilientPolicy, settingsLike, type ResilienceOptions } from './resilience.ts';

export interface CheckRequest {
  user: string; // "agent:facts"
  relation: string; // "proposer"
  object: string; // "scope:acme"
}

export type CheckReason =
  | 'allowed'
  | 'denied'
  /** No store configured, or the store / model does not exist. */
  | 'unconfigured'
  /** OpenFGA unreachable, erroring, timing out, or the breaker is open. */
  | 'unavailable'
  /** The request names a type or relation the model does not have. */
  | 'invalid'
  | 'disabled';

export interface CheckResult {
  allowed: boolean;
  reason: CheckReason;
  detail?: string;
}

export interface Authorizer {
  check(req: CheckRequest): Promise<CheckResult>;
  /** Several checks at once (in parallel); allowed only when every one is. */
  checkAll(reqs: readonly CheckRequest[]): Promise<{ allowed: boolean; results: (CheckRequest & CheckResult)[] }>;
}

export type AuthzConfig = Pick<Env, 'OPENFGA_API_URL' | 'OPENFGA_STORE_ID' | 'OPENFGA_MODEL_ID' | 'AUTHZ_DISABLED'> & Partial<Pick<Env, 'OPENFGA_API_TOKEN'>> &
  Partial<Pick<Env, 'OPENFGA_TIMEOUT_MS'>>;

export interface AuthzOptions {
  warn?: (msg: string) => void;
  /** Breaker name (one per OpenFGA deployment); tests use their own. */
  breaker?: string;
  /** With `breaker`, a test's own breaker: the OpenFGA settings but for these. */
  resilience?: ResilienceOptions;
}

const UNCONFIGURED_CODES = new Set(['latest_authorization_model_not_found', 'authorization_model_not_found', 'store_id_not_found', 'store_not_found']);

/** SDK error → our classification: permanent (config / request) or transient (service health). */
function classifyFgaError(err: unknown): Error {
  const e = err as { name?: string; statusCode?: number; apiErrorCode?: string; message?: string };
  const msg = e?.message ?? String(err);
  const status = e?.statusCode;
  if (e?.name === 'FgaApiValidationError') {
    return new PermanentError(UNCONFIGURED_CODES.has(e.apiErrorCode ?? '') ? 'authz_unconfigured' : 'authz_invalid', msg, { cause: err });
  }
  if (e?.name === 'FgaApiNotFoundError' || e?.name === 'FgaApiAuthenticationError' || status === 401 || status === 403 || status === 404) {
    return new PermanentError('authz_unconfigured', msg, { cause: err });
  }
  if (typeof status === 'number' && status >= 400 && status < 500 && status !== 408 && status !== 429) {
    return new PermanentError('authz_invalid', msg, { cause: err });
  }
  // Network errors (no status), 5xx, 408, 429.
  return new TransientError('authz_unavailable', msg, { cause: err });
}

function resultFor(err: unknown): CheckResult {
  const e = err as { code?: string; name?: string; message?: string };
  const detail = e?.message ?? String(err);
  if (e?.code === 'authz_unconfigured') return { allowed: false, reason: 'unconfigured', detail };
  if (e?.code === 'authz_invalid') return { allowed: false, reason: 'invalid', detail };
  if (err instanceof BrokenCircuitError) return { allowed: false, reason: 'unavailable', detail: 'circuit open: OpenFGA failed repeatedly' };
  return { allowed: false, reason: 'unavailable', detail };
}

function withCheckAll(check: Authorizer['check']): Authorizer {
  return {
    check,
    async checkAll(reqs) {
      const results = await Promise.all(reqs.map(async (r) => ({ ...r, ...(await check(r)) })));
      return { allowed: results.length > 0 && results.every((r) => r.allowed), results };
    },
  };
}

/** OpenFGA's preshared key as the SDK takes it (nothing when unset). */
export const fgaCredentials = (token: string | undefined): { credentials?: { method: CredentialsMethod.ApiToken; config: { token: string } } } =>
  token ? { credentials: { method: CredentialsMethod.ApiToken as const, config: { token } } } : {};

function fgaClient(cfg: AuthzConfig): OpenFgaClient {
  return new OpenFgaClient({
    apiUrl: cfg.OPENFGA_API_URL,
    ...fgaCredentials(cfg.OPENFGA_API_TOKEN),
    storeId: cfg.OPENFGA_STORE_ID,
    ...(cfg.OPENFGA_MODEL_ID ? { authorizationModelId: cfg.OPENFGA_MODEL_ID } : {}),
    // Our own breaker and retry policy decide; the SDK must not wait out its own retries.
    retryParams: { maxRetry: 0, minWaitInMs: 0 },
    baseOptions: { timeout: cfg.OPENFGA_TIMEOUT_MS ?? 2_000 },
  } as ConstructorParameters<typeof OpenFgaClient>[0]);
}

function policyFor(cfg: AuthzConfig, opts: AuthzOptions, breaker: 'openfga' | 'openfga-write'): IPolicy {
  // The timeout sits inside the retry, so each attempt is bounded.
  return wrap(
    resilientPolicy(opts.breaker ?? breaker, settingsLike(breaker, opts.resilience)),
    timeout(cfg.OPENFGA_TIMEOUT_MS ?? 2_000, TimeoutStrategy.Aggressive),
  );
}

export function createAuthorizer(cfg: AuthzConfig, opts: AuthzOptions | ((msg: string) => void) = {}): Authorizer {
  const o: AuthzOptions = typeof opts === 'function' ? { warn: opts } : opts;
  const warn = o.warn ?? ((m: string) => process.stderr.write(`${m}\n`));
  if (cfg.AUTHZ_DISABLED) {
    warn('WARNING: AUTHZ_DISABLED=true: every permission check is allowed (development only)');
    return withCheckAll(async () => ({ allowed: true, reason: 'disabled' }));
  }
  if (!cfg.OPENFGA_API_URL || !cfg.OPENFGA_STORE_ID) {
    return withCheckAll(async () => ({
      allowed: false,
      reason: 'unconfigured',
      detail: 'OPENFGA_API_URL and OPENFGA_STORE_ID must be set (npm run services:up writes them)',
    }));
  }
  const client = fgaClient(cfg);
  const policy = policyFor(cfg, o, 'openfga');
  const one = withCheckAll(async (req) => {
    try {
      const res = await policy.execute(async () => {
        try {
          return await client.check(req);
        } catch (err) {
          throw classifyFgaError(err);
        }
      });
      return res.allowed ? { allowed: true, reason: 'allowed' } : { allowed: false, reason: 'denied' };
    } catch (err) {
      return resultFor(err);
    }
  });
  return {
    check: one.check,
    // Many checks (a page of scopes in a list) in OpenFGA's BatchCheck: 50 per request
    // instead of a round trip each. Same breaker and retry; a failed batch fails every check.
    async checkAll(reqs) {
      if (reqs.length <= 1) return one.checkAll(reqs);
      let results: (CheckRequest & CheckResult)[];
      try {
        const res = await policy.execute(async () => {
          try {
            return await client.batchCheck(
              { checks: reqs.map((r, i) => ({ user: r.user, relation: r.relation, object: r.object, correlationId: `c${i}` })) },
              { maxBatchSize: 50, maxParallelRequests: 4 },
            );
          } catch (err) {
            throw classifyFgaError(err);
          }
        });
        const byId = new Map(res.result.map((x) => [x.correlationId, x]));
        results = reqs.map((r, i): CheckRequest & CheckResult => {
          const x = byId.get(`c${i}`);
          if (!x) return { ...r, allowed: false, reason: 'unavailable', detail: 'OpenFGA left this check out of its batch answer' };
          if (x.error) return { ...r, allowed: false, reason: x.error.input_error ? 'invalid' : 'unavailable', detail: x.error.message ?? 'check failed' };
          return x.allowed ? { ...r, allowed: true, reason: 'allowed' } : { ...r, allowed: false, reason: 'denied' };
        });
      } catch (err) {
        const failed = resultFor(err);
        results = reqs.map((r) => ({ ...r, ...failed }));
      }
      return { allowed: results.length > 0 && results.every((r) => r.allowed), results };
    },
  };
}

export interface TupleKey {
  user: string;
  relation: string;
  object: string;
}

/** Writes relationship tuples (e.g. linking a new scope to the swarm). Idempotent. */
export interface AuthzAdmin {
  write(tuples: readonly TupleKey[]): Promise<void>;
  delete(tuples: readonly TupleKey[]): Promise<void>;
}

/** The tuple that gives a scope the swarm's standing grants (infra/openfga/model.fga). */
export const scopeSwarmTuple = (scope: string, swarm = 'main'): TupleKey => ({ user: `swarm:${swarm}`, relation: 'swarm', object: `scope:${scope}` });

export function createAuthzAdmin(cfg: AuthzConfig, opts: AuthzOptions = {}): AuthzAdmin {
  if (cfg.AUTHZ_DISABLED) return { write: async () => {}, delete: async () => {} };
  if (!cfg.OPENFGA_API_URL || !cfg.OPENFGA_STORE_ID) {
    const fail = async () => {
      throw new PermanentError('authz_unconfigured', 'OPENFGA_API_URL and OPENFGA_STORE_ID must be set to write tuples');
    };
    return { write: fail, delete: fail };
  }
  const client = fgaClient(cfg);
  const policy = policyFor(cfg, opts, 'openfga-write');
  const run = (fn: () => Promise<unknown>) =>
    policy.execute(async () => {
      try {
        await fn();
      } catch (err) {
        throw classifyFgaError(err);
      }
    });
  return {
    async write(tuples) {
      if (tuples.length === 0) return;
      await run(() => client.write({ writes: [...tuples] }, { conflict: { onDuplicateWrites: ClientWriteRequestOnDuplicateWrites.Ignore } }));
    },
    async delete(tuples) {
      if (tuples.length === 0) return;
      await run(() => client.write({ deletes: [...tuples] }, { conflict: { onMissingDeletes: ClientWriteRequestOnMissingDeletes.Ignore } }));
    },
  };
}
