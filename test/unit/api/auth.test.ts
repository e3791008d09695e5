// Token configuration and lookup (functions/api/auth.ts).
import { describe, expect, it } from 'vitest';
import { API_PRINCIPAL, authSetup, type ApiAuthConfig } from '../../../functions/api/auth.ts';
import { ConfigError } from '../../../shared/config.ts';

const cfg = (over: Partial<ApiAuthConfig>): ApiAuthConfig => ({ API_TOKEN: '', API_TOKENS: '', API_DEV_MODE: false, SWARM_ENV: 'development', ...over });
const T1 = 'tok-aaaaaaaaaaaaaaaa';
const T2 = 'tok-bbbbbbbbbbbbbbbb';
const T3 = 'cGFkZGVkLXRva2VuLXZhbHVl=='; // base64 padding

function configError(c: ApiAuthConfig): string {
  try {
    authSetup(c);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as Error).message;
  }
  throw new Error('expected a ConfigError');
}

describe('authSetup', () => {
  it('maps API_TOKEN to agent:api and API_TOKENS entries to their principals; anything else is unknown', () => {
    const a = authSetup(cfg({ API_TOKEN: T1, API_TOKENS: ` ${T2}=user:operator , ${T3}=agent:intruder ` }));
    expect(a.open).toBe(false);
    expect(a.lookup(T1)).toBe(API_PRINCIPAL);
    expect(a.lookup(T2)).toBe('user:operator');
    expect(a.lookup(T3)).toBe('agent:intruder');
    for (const guess of ['', T1.slice(0, -1), `${T1}x`, T1.toUpperCase(), T3.replace(/=+$/, '')]) expect(a.lookup(guess)).toBeUndefined();
    expect(a.principals.sort()).toEqual(['agent:api', 'agent:intruder', 'user:operator']);
  });

  it('refuses to run with no token outside dev mode, naming the variable and the way out', () => {
    expect(configError(cfg({}))).toBe(
      'invalid configuration: API_TOKEN: no API token configured: set API_TOKEN (or API_TOKENS), or API_DEV_MODE=true for local development only',
    );
  });

  it('dev mode without tokens is open (every request is agent:api), but never in production', () => {
    expect(authSetup(cfg({ API_DEV_MODE: true })).open).toBe(true);
    // With a token configured, dev mode changes nothing: the token is required.
    expect(authSetup(cfg({ API_DEV_MODE: true, API_TOKEN: T1 })).open).toBe(false);
    expect(configError(cfg({ API_DEV_MODE: true, SWARM_ENV: 'production' }))).toMatch(/API_DEV_MODE: may not be set in production/);
  });

  it.each([
    [{ API_TOKEN: 'short' }, /API_TOKEN: a token must be at least 16 characters/],
    [{ API_TOKEN: 'has a space in it, long enough' }, /API_TOKEN: a token must be at least 16 characters of/],
    [{ API_TOKENS: T1 }, /API_TOKENS: expected token=principal/],
    [{ API_TOKENS: `${T1}=operator` }, /API_TOKENS: principal "operator" must be agent:<id> or user:<id>/],
    [{ API_TOKENS: `${T1}=user:` }, /API_TOKENS: principal "user:" must be/],
    [{ API_TOKEN: T1, API_TOKENS: `${T1}=user:operator` }, /API_TOKENS: the same token is given twice \(for agent:api and user:operator\)/],
  ])('rejects %j', (over, re) => {
    expect(configError(cfg(over as Partial<ApiAuthConfig>))).toMatch(re);
  });
});
