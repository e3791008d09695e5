import { describe, expect, it } from 'vitest';
import { KeyedMutex } from '../../../shared/swarm/keyed-mutex.ts';

const tick = () => new Promise((r) => setTimeout(r, 1));

describe('KeyedMutex', () => {
  it('runs holders of one key one at a time, in arrival order; other keys meanwhile', async () => {
    const m = new KeyedMutex();
    const log: string[] = [];
    let inside = 0;
    let most = 0;
    const job = (key: string, name: string) =>
      m.run(key, async () => {
        inside++;
        most = Math.max(most, inside);
        log.push(`${name}+`);
        await tick();
        log.push(`${name}-`);
        inside--;
      });
    await Promise.all([job('a', 'a1'), job('a', 'a2'), job('b', 'b1'), job('a', 'a3')]);
    const a = log.filter((l) => l.startsWith('a'));
    expect(a).toEqual(['a1+', 'a1-', 'a2+', 'a2-', 'a3+', 'a3-']);
    // b ran while a1 held key a.
    expect(log.indexOf('b1+')).toBeLessThan(log.indexOf('a1-'));
    expect(most).toBe(2);
    expect(m.size).toBe(0);
  });

  it('a holder that throws passes the turn on and its error to its caller', async () => {
    const m = new KeyedMutex();
    const first = m.run('k', async () => {
      await tick();
      throw new Error('boom');
    });
    const second = m.run('k', async () => 'ran');
    await expect(first).rejects.toThrow('boom');
    await expect(second).resolves.toBe('ran');
    expect(m.size).toBe(0);
  });
});
