// One holder per key at a time, in arrival order, within this process. The facts step
// merges a scope's documents under a Postgres lock; without this, every message of a
// burst into one scope would wait for that lock holding a pooled connection, and a
// burst larger than the pool would starve every other scope (and time out). Waiting
// here costs nothing, and by the time a message's turn comes its document has usually
// been merged by the run ahead of it.
export class KeyedMutex {
  private readonly tails = new Map<string, Promise<void>>();

  async run<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const before = this.tails.get(key) ?? Promise.resolve();
    let release!: () => void;
    const mine = new Promise<void>((r) => (release = r));
    const tail = before.then(() => mine);
    this.tails.set(key, tail);
    await before;
    try {
      return await fn();
    } finally {
      release();
      // The last holder of a key leaves no entry behind.
      if (this.tails.get(key) === tail) this.tails.delete(key);
    }
  }

  /** Keys with a holder or waiters (for tests). */
  get size(): number {
    return this.tails.size;
  }
}
