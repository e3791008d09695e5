// The breaker registry (shared/adapters/resilience.ts): the production breakers come
// from one table, and a name registered twice with different settings is an error
// instead of silently keeping whichever registration came first.
import { beforeEach, describe, expect, it } from 'vitest';
import {
  BREAKERS,
  breakerStates,
  namedBreaker,
  registerBreaker,
  resetBreakers,
  resilientPolicy,
  settingsLike,
} from '../../../shared/adapters/resilience.ts';

const refused = () => Promise.reject(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }));

beforeEach(() => resetBreakers());

describe('breaker registry', () => {
  it('registers a production breaker from the table on first use, with its threshold', async () => {
    const llm = namedBreaker('llm');
    for (let i = 0; i < BREAKERS.llm.threshold - 1; i++) await llm.execute(refused).catch(() => {});
    expect(breakerStates().llm).toBe('closed');
    await llm.execute(refused).catch(() => {});
    expect(breakerStates().llm).toBe('open');
    expect(namedBreaker('llm')).toBe(llm);
  });

  it('gives llm:<role> the settings of llm, as a breaker of its own', () => {
    const role = namedBreaker('llm:facts');
    expect(role).not.toBe(namedBreaker('llm'));
    expect(registerBreaker('llm:facts', BREAKERS.llm)).toBe(role);
    expect(() => registerBreaker('llm:facts', settingsLike('llm', { threshold: 1 }))).toThrow(/already registered with other settings \(threshold\)/);
  });

  it('returns the same breaker for the same settings and refuses other settings under the same name', () => {
    const first = registerBreaker('pg-unit', settingsLike('postgres', { threshold: 2 }));
    expect(registerBreaker('pg-unit', settingsLike('postgres', { threshold: 2 }))).toBe(first);
    expect(() => registerBreaker('pg-unit', settingsLike('postgres', { threshold: 3 }))).toThrow(/"pg-unit" is already registered/);
    expect(() => resilientPolicy('pg-unit', settingsLike('postgres', { maxAttempts: 1 }))).toThrow(/maxAttempts/);
    // A production name used with its table settings, then with others.
    resilientPolicy('s3', BREAKERS.s3);
    expect(() => resilientPolicy('s3', settingsLike('s3', { halfOpenAfterMs: 2_000 }))).toThrow(/halfOpenAfterMs/);
  });

  it('knows no breaker that is neither in the table nor registered', () => {
    expect(() => namedBreaker('no-such-breaker')).toThrow(/no breaker "no-such-breaker"/);
    expect(() => resilientPolicy('no-such-breaker')).toThrow(/no breaker/);
  });

  it('retries as the registered settings say', async () => {
    let calls = 0;
    const policy = resilientPolicy('retry-unit', settingsLike('postgres', { maxAttempts: 3, initialDelayMs: 1, maxDelayMs: 1 }));
    await policy.execute(() => (calls++, refused())).catch(() => {});
    expect(calls).toBe(3);
  });
});
