// Permission checks against OpenFGA. Fails closed: with no store configured, or
// when OpenFGA cannot be reached, the answer is "denied" with a reason. The only
// way around it is AUTHZ_DISABLED=true, refused in production and logged loudly.
import { OpenFgaClient } from '@openfga/sdk';
import type { Env } from '../config.ts';

export interface CheckRequest {
  user: string; // "agent:facts"
  relation: string; // "proposer"
  object: string; // "scope:acme"
}

export interface CheckResult {
  allowed: boolean;
  /** allowed | denied | unconfigured | unavailable | disabled */
  reason: 'allowed' | 'denied' | 'unconfigured' | 'unavailable' | 'disabled';
  detail?: string;
}

export interface Authorizer {
  check(req: CheckRequest): Promise<CheckResult>;
}

export type AuthzConfig = Pick<Env, 'OPENFGA_API_URL' | 'OPENFGA_STORE_ID' | 'OPENFGA_MODEL_ID' | 'AUTHZ_DISABLED'>;

export function createAuthorizer(cfg: AuthzConfig, warn: (msg: string) => void = (m) => process.stderr.write(`${m}\n`)): Authorizer {
  if (cfg.AUTHZ_DISABLED) {
    warn('WARNING: AUTHZ_DISABLED=true: every permission check is allowed (development only)');
    return { check: async () => ({ allowed: true, reason: 'disabled' }) };
  }
  if (!cfg.OPENFGA_API_URL || !cfg.OPENFGA_STORE_ID) {
    return {
      check: async () => ({
        allowed: false,
        reason: 'unconfigured',
        detail: 'OPENFGA_API_URL and OPENFGA_STORE_ID must be set (npm run services:up writes them)',
      }),
    };
  }
  const client = new OpenFgaClient({
    apiUrl: cfg.OPENFGA_API_URL,
    storeId: cfg.OPENFGA_STORE_ID,
    ...(cfg.OPENFGA_MODEL_ID ? { authorizationModelId: cfg.OPENFGA_MODEL_ID } : {}),
    // Our own breaker and retry policy decide; the SDK must not wait out its own retries.
    retryParams: { maxRetry: 0, minWaitInMs: 0 },
  });
  return {
    async check(req) {
      try {
        const res = await client.check(req);
        return res.allowed ? { allowed: true, reason: 'allowed' } : { allowed: false, reason: 'denied' };
      } catch (err) {
        return { allowed: false, reason: 'unavailable', detail: (err as Error).message };
      }
    },
  };
}
