// Bearer-token authentication. API_TOKEN is agent:api's token; API_TOKENS adds more
// (`token=principal,...`). With no token configured the API refuses to start, unless
// API_DEV_MODE=true (never in production), where every request acts as agent:api.
// Tokens are compared as SHA-256 digests with timingSafeEqual against every configured
// token, so neither the length nor the first differing byte of a guess shows in timing.
import { createHash, timingSafeEqual } from 'node:crypto';
import type { MiddlewareHandler } from 'hono';
import { ConfigError, type Env } from '../../shared/config.ts';
import { ApiError } from './errors.ts';

export type ApiAuthConfig = Pick<Env, 'API_TOKEN' | 'API_TOKENS' | 'API_DEV_MODE' | 'SWARM_ENV'>;

/** The principal API_TOKEN authenticates, and the one dev mode acts as. */
export const API_PRINCIPAL = 'agent:api';

/** An OpenFGA user of a type the model knows. */
export const PRINCIPAL_RE = /^(agent|user):[A-Za-z0-9._-]{1,64}$/;
/** RFC 6750 b64token, at least 16 characters: long enough not to be guessed. */
const TOKEN_RE = /^[A-Za-z0-9._~+/-]{16,512}=*$/;
export const MIN_TOKEN_CHARS = 16;

export interface AuthSetup {
  /** No token configured, dev mode: every request is agent:api. */
  open: boolean;
  principals: string[];
  /** The principal of a presented token, or undefined. */
  lookup(token: string): string | undefined;
}

const digest = (s: string) => createHash('sha256').update(s, 'utf8').digest();

/**
 * Parse and check the token configuration. Throws ConfigError (one line, naming the
 * variable) for a malformed entry, a short token, a token given twice, or no token
 * outside dev mode.
 */
export function authSetup(env: ApiAuthConfig): AuthSetup {
  const issues: { variable: string; message: string }[] = [];
  const tokens = new Map<string, string>();
  const add = (variable: string, token: string, principal: string) => {
    if (!TOKEN_RE.test(token)) {
      issues.push({ variable, message: `a token must be at least ${MIN_TOKEN_CHARS} characters of A-Z a-z 0-9 . _ ~ + / - (got one of ${token.length})` });
    } else if (!PRINCIPAL_RE.test(principal)) {
      issues.push({ variable, message: `principal ${JSON.stringify(principal)} must be agent:<id> or user:<id>` });
    } else if (tokens.has(token)) {
      issues.push({ variable, message: `the same token is given twice (for ${tokens.get(token)} and ${principal})` });
    } else {
      tokens.set(token, principal);
    }
  };
  if (env.API_TOKEN) add('API_TOKEN', env.API_TOKEN, API_PRINCIPAL);
  for (const entry of env.API_TOKENS.split(',').map((e) => e.trim()).filter(Boolean)) {
    // A principal never contains '=', so the last one separates (a token may end in '=' padding).
    const at = entry.lastIndexOf('=');
    if (at <= 0) issues.push({ variable: 'API_TOKENS', message: 'expected token=principal entries separated by commas' });
    else add('API_TOKENS', entry.slice(0, at), entry.slice(at + 1));
  }
  if (env.API_DEV_MODE && env.SWARM_ENV === 'production') issues.push({ variable: 'API_DEV_MODE', message: 'may not be set in production' });
  if (tokens.size === 0 && !env.API_DEV_MODE && issues.length === 0) {
    issues.push({ variable: 'API_TOKEN', message: 'no API token configured: set API_TOKEN (or API_TOKENS), or API_DEV_MODE=true for local development only' });
  }
  if (issues.length) throw new ConfigError(issues);

  const entries = [...tokens].map(([t, principal]) => ({ digest: digest(t), principal }));
  return {
    open: entries.length === 0,
    principals: [...new Set(entries.map((e) => e.principal))],
    lookup(token) {
      const d = digest(token);
      let found: string | undefined;
      // No early exit: every configured token is compared.
      for (const e of entries) if (timingSafeEqual(d, e.digest) && found === undefined) found = e.principal;
      return found;
    },
  };
}

const challenge = (error?: string) => `Bearer realm="governed-swarm"${error ? `, error="${error}"` : ''}`;

/** Sets c.var.principal, or answers 401 with WWW-Authenticate. */
export function authenticate(setup: AuthSetup): MiddlewareHandler<{ Variables: { principal: string } }> {
  return async (c, next) => {
    if (setup.open) {
      c.set('principal', API_PRINCIPAL);
      return next();
    }
    const header = c.req.header('authorization');
    if (!header) {
      throw new ApiError(401, 'unauthenticated', 'missing Authorization header: send Authorization: Bearer <token>', { headers: { 'WWW-Authenticate': challenge() } });
    }
    const m = /^Bearer +(\S+)\s*$/i.exec(header);
    if (!m) {
      throw new ApiError(401, 'unauthenticated', 'Authorization header is not of the form "Bearer <token>"', {
        headers: { 'WWW-Authenticate': challenge('invalid_request') },
      });
    }
    const principal = setup.lookup(m[1]!);
    if (!principal) throw new ApiError(401, 'unauthenticated', 'unknown bearer token', { headers: { 'WWW-Authenticate': challenge('invalid_token') } });
    c.set('principal', principal);
    return next();
  };
}
