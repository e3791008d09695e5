// The operator's hold on a scope: which changes are allowed from which hold, and the ids of release messages.
import { describe, expect, it } from 'vitest';
import { MessageId } from '../../../shared/contract/envelope.ts';
import { nextHold, releaseId } from '../../../shared/domain/hold.ts';

describe('nextHold', () => {
  it.each([
    [null, 'pause', 'paused', true],
    ['paused', 'pause', 'paused', false],
    ['paused', 'resume', null, true],
    [null, 'resume', null, false],
    [null, 'close', 'closed', true],
    ['paused', 'close', 'closed', true],
    ['closed', 'close', 'closed', false],
  ] as const)('%s + %s → %s (changed: %s)', (from, action, hold, changed) => {
    expect(nextHold(from, action)).toEqual({ ok: true, hold, changed });
  });

  it('refuses to pause or resume a closed scope, saying why', () => {
    expect(nextHold('closed', 'pause')).toMatchObject({ ok: false, code: 'scope_closed', message: expect.stringContaining('cannot be paused') });
    expect(nextHold('closed', 'resume')).toMatchObject({ ok: false, code: 'scope_closed', message: expect.stringContaining('cannot be resumed') });
  });
});

describe('releaseId', () => {
  it('is a valid message id, the same for a retried publish and another for the next release', () => {
    const id = releaseId('acme', 'executor', 'x'.repeat(200), 1);
    expect(MessageId.safeParse(id).success).toBe(true);
    expect(releaseId('acme', 'executor', 'x'.repeat(200), 1)).toBe(id);
    const others = [releaseId('acme', 'executor', 'x'.repeat(200), 2), releaseId('acme', 'drift', 'x'.repeat(200), 1), releaseId('beta', 'executor', 'x'.repeat(200), 1), releaseId('acme', 'executor', 'y', 1)];
    expect(new Set([id, ...others]).size).toBe(5);
  });
});
