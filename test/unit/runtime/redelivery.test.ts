// Nak backoff, the redelivery span the duplicate window must cover, subjects.
import { describe, expect, it } from 'vitest';
import { ProvisioningError, duplicateWindowMs, nakDelayMs, parseSubject, redeliverySpanMs, replaySubject, type BusConfig } from '../../../shared/adapters/bus.ts';
import { loadEnv } from '../../../shared/config.ts';

const cfg: BusConfig = { ...loadEnv({ GSWARM_HOME: '/nonexistent' }), BRIDGE_ACK_WAIT_MS: 30_000, BRIDGE_MAX_DELIVER: 5, BRIDGE_NAK_BASE_MS: 1_000, BRIDGE_NAK_MAX_MS: 60_000 };

describe('nak backoff', () => {
  it('doubles per delivery between half and all of its ceiling, up to the cap', () => {
    expect([1, 2, 3, 4].map((n) => nakDelayMs(cfg, n, () => 1))).toEqual([1_000, 2_000, 4_000, 8_000]);
    expect([1, 2, 3, 4].map((n) => nakDelayMs(cfg, n, () => 0))).toEqual([500, 1_000, 2_000, 4_000]);
    expect(nakDelayMs(cfg, 30, () => 1)).toBe(60_000);
    for (let i = 0; i < 100; i++) {
      const d = nakDelayMs(cfg, 3);
      expect(d).toBeGreaterThanOrEqual(2_000);
      expect(d).toBeLessThanOrEqual(4_000);
    }
  });
});

describe('duplicate window', () => {
  it('covers every delivery of a message and every backoff between them', () => {
    expect(redeliverySpanMs(cfg)).toBe(5 * 30_000 + 1_000 + 2_000 + 4_000 + 8_000);
    expect(redeliverySpanMs(cfg, 120_000)).toBe(5 * 120_000 + 15_000); // long steps keep a delivery alive longer
    expect(duplicateWindowMs({ ...cfg, NATS_DUPLICATE_WINDOW_MS: 0 })).toBe(165_000);
    expect(duplicateWindowMs({ ...cfg, BRIDGE_ACK_WAIT_MS: 1_000, BRIDGE_MAX_DELIVER: 2, NATS_DUPLICATE_WINDOW_MS: 0 })).toBe(120_000); // NATS's default floor
  });
  it('rejects a configured window that is too short, naming the variable', () => {
    expect(() => duplicateWindowMs({ ...cfg, NATS_DUPLICATE_WINDOW_MS: 60_000 })).toThrow(ProvisioningError);
    expect(() => duplicateWindowMs({ ...cfg, NATS_DUPLICATE_WINDOW_MS: 60_000 })).toThrow(/NATS_DUPLICATE_WINDOW_MS=60000/);
    expect(duplicateWindowMs({ ...cfg, NATS_DUPLICATE_WINDOW_MS: 600_000 })).toBe(600_000);
  });
});

describe('subjects', () => {
  it('carry the scope and the dotted type, also when replayed to one consumer', () => {
    expect(parseSubject('swarm', 'swarm.acme.doc.submitted')).toEqual({ scope: 'acme', type: 'doc.submitted' });
    const replay = replaySubject('swarm', 'fn-facts', 'swarm.acme.doc.submitted');
    expect(replay).toBe('swarm-replay.fn-facts.acme.doc.submitted');
    expect(parseSubject('swarm', replay)).toEqual({ scope: 'acme', type: 'doc.submitted' });
    expect(parseSubject('swarm', 'other.acme.x')).toBeUndefined();
  });
});
