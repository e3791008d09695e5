// Backpressure (V10): a message counts against its consumer's and the bridge's
// capacity from the moment it is asked for until it is settled, so no more are
// ever in flight than configured, however long the backlog. A fetch asks for at
// most what is free; what it does not deliver is given back when it ends.
export class Slots {
  #free: number;
  #waiters: (() => void)[] = [];
  constructor(readonly limit: number) {
    this.#free = limit;
  }
  get free(): number {
    return this.#free;
  }
  get inUse(): number {
    return this.limit - this.#free;
  }
  take(n: number): void {
    if (n > this.#free) throw new Error(`taking ${n} slots with ${this.#free} free`);
    this.#free -= n;
  }
  release(n: number): void {
    if (n <= 0) return;
    this.#free += n;
    if (this.#free > this.limit) throw new Error('released more slots than were taken');
    const w = this.#waiters;
    this.#waiters = [];
    for (const wake of w) wake();
  }
  /** Resolves at the next release (or wake). */
  changed(): Promise<void> {
    return new Promise((r) => this.#waiters.push(r));
  }
  /** Wake every waiter without releasing (shutdown). */
  wake(): void {
    this.release(0);
    const w = this.#waiters;
    this.#waiters = [];
    for (const wake of w) wake();
  }
}

/**
 * Wait until every pool has a free slot, then take min(max, free of each) from all
 * of them at once. Returns 0 when `stopped()` becomes true.
 *
 * Under load slots come back one at a time; asking for each one alone would cost
 * a fetch round trip per message. So when fewer than `max` are free, linger up to
 * `lingerMs` for more to come back before taking what there is (Kafka's linger.ms).
 */
export async function reserve(pools: readonly Slots[], max: number, stopped: () => boolean, lingerMs = 0): Promise<number> {
  const want = Math.min(max, ...pools.map((p) => p.limit));
  let lingered = lingerMs <= 0;
  for (;;) {
    if (stopped()) return 0;
    const n = Math.min(max, ...pools.map((p) => p.free));
    if (n >= want || (n > 0 && lingered)) {
      for (const p of pools) p.take(n);
      return n;
    }
    const changed = Promise.race(pools.map((p) => p.changed()));
    if (n === 0) {
      await changed;
      continue;
    }
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([changed, new Promise<void>((r) => (timer = setTimeout(() => ((lingered = true), r()), lingerMs)))]);
    clearTimeout(timer);
  }
}

export function releaseAll(pools: readonly Slots[], n: number): void {
  for (const p of pools) p.release(n);
}
