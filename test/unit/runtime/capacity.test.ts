// Slot accounting behind backpressure: a fetch reserves what is free in every pool at once.
import { describe, expect, it } from 'vitest';
import { Slots, releaseAll, reserve } from '../../../infra/bridge/capacity.ts';

describe('capacity', () => {
  it('reserves at most what every pool has free, and waits when one is full', async () => {
    const consumer = new Slots(3);
    const bridge = new Slots(4);
    expect(await reserve([consumer, bridge], 10, () => false)).toBe(3);
    expect([consumer.free, bridge.free]).toEqual([0, 1]);
    let got: number | undefined;
    const waiting = reserve([consumer, bridge], 10, () => false).then((n) => (got = n));
    await new Promise((r) => setTimeout(r, 10));
    expect(got).toBeUndefined(); // nothing free for this consumer
    releaseAll([consumer, bridge], 2);
    await waiting;
    expect(got).toBe(2); // min(2 free here, 3 free in the bridge)
    expect([consumer.inUse, bridge.inUse]).toEqual([3, 3]);
  });

  it('a waiting reservation gives up when stopped', async () => {
    const s = new Slots(1);
    s.take(1);
    let stopped = false;
    const r = reserve([s], 5, () => stopped);
    stopped = true;
    s.wake();
    expect(await r).toBe(0);
  });

  it('refuses to hand out or take back more than it has', () => {
    const s = new Slots(2);
    expect(() => s.take(3)).toThrow();
    expect(() => s.release(1)).toThrow();
  });
});
