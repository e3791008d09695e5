// Retry kinds of transient errors and the bridge's time budgets per kind
// (shared/contract/errors.ts, infra/bridge/retry-budget.ts).
import { describe, expect, it } from 'vitest';
import { TransientError, classify, retryKindOf } from '../../../shared/contract/errors.ts';
import { StepFailure } from '../../../shared/contract/result.ts';
import { RetryBudgets, charge, exhausted } from '../../../infra/bridge/retry-budget.ts';

describe('retry kinds', () => {
  it('tell a lost race and a dependency outage from a failure of the message', () => {
    for (const c of ['facts_artifact_conflict', 'drift_artifact_conflict', 'in_progress', 'claim_lost', '40001', 'cancelled', 'node_race']) expect(retryKindOf(c)).toBe('contention');
    for (const c of ['breaker_open', 'authz_unavailable', 'ECONNREFUSED', '57P01', 'connection', 'publish_timeout', 'http_503', 'http_429']) expect(retryKindOf(c)).toBe('outage');
    for (const c of ['timeout', 'unclassified', 'poisoned']) expect(retryKindOf(c)).toBe('failure');
  });
  it('travel with the error: from the code by default, or as stated; and through the wire format', () => {
    expect(new TransientError('x_conflict', 'lost').retryKind).toBe('contention');
    expect(new TransientError('weird', 'down', { kind: 'outage' }).retryKind).toBe('outage');
    expect(classify(Object.assign(new Error('refused'), { code: 'ECONNREFUSED' })).retryKind).toBe('outage');
    expect(classify({ isBrokenCircuitError: true, message: 'open' }).retryKind).toBe('outage');
    expect(classify({ name: 'SlowDown', message: 'reduce your request rate', $metadata: { httpStatusCode: 503 } })).toMatchObject({ code: 'http_503', retryKind: 'outage' });
    expect(StepFailure.parse({ ok: false, error: { class: 'transient', code: 'x', message: 'y', kind: 'contention' } }).error.kind).toBe('contention');
    expect(new TransientError('weird', 'down', { kind: 'outage' }).toJSON()).toMatchObject({ kind: 'outage' });
  });
});

const cfg = { BRIDGE_RETRY_BUDGET_MS: 10_000, BRIDGE_OUTAGE_BUDGET_MS: 100_000 };

describe('retry budget', () => {
  it('charges the time between failures to the kind of the earlier one', () => {
    let a = charge(undefined, 'outage', 0);
    a = charge(a, 'failure', 50_000); // 50 s of outage
    a = charge(a, 'contention', 55_000); // 5 s of failure
    a = charge(a, 'failure', 1_000_000); // contention: free
    expect(a.spent).toEqual({ outage: 50_000, failure: 5_000, contention: 945_000 });
    expect(a.failures).toBe(4);
    expect(exhausted(a, cfg)).toBeUndefined();
  });

  it('runs out for failures after the retry budget and for outages after the outage budget, never for contention', () => {
    let t = 0;
    const b = new RetryBudgets(cfg, () => t);
    for (; t <= 10 * 3600_000; t += 60_000) expect(b.charge('c', 'contention').exhausted).toBeUndefined();
    t = 0;
    let r = b.charge('f', 'failure');
    while (!r.exhausted) r = b.charge('f', ((t += 1_000), 'failure'));
    expect(r.exhausted).toMatchObject({ kind: 'failure', variable: 'BRIDGE_RETRY_BUDGET_MS', budgetMs: 10_000 });
    expect(t).toBe(11_000);
    t = 0;
    r = b.charge('o', 'outage');
    while (!r.exhausted) r = b.charge('o', ((t += 1_000), 'outage'));
    expect(r.exhausted).toMatchObject({ kind: 'outage', variable: 'BRIDGE_OUTAGE_BUDGET_MS' });
    expect(t).toBe(101_000);
  });

  it('starts over for a settled message, and forgets accounts of messages settled elsewhere', () => {
    let t = 0;
    const b = new RetryBudgets(cfg, () => t);
    b.charge('a', 'failure');
    t = 9_000;
    b.charge('a', 'failure');
    b.forget('a');
    t = 30_000;
    expect(b.charge('a', 'failure').account.spent.failure).toBe(0);
    t = 3 * 3600_000;
    b.charge('b', 'failure');
    expect(b.size).toBe(1);
  });
});
