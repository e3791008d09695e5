// The pull loop of one consumer: fetch only as many messages as there are free
// slots (V10), hand each to dispatch() without waiting, give the slot back when
// the message is settled. ceil(concurrency / batch) fetches run side by side, so
// that with a backlog one fetch's round trip overlaps another's messages. While a
// message is in flight, an in-progress ack every ack_wait/3 keeps JetStream from
// redelivering it, however long its step runs.
import { setMaxListeners } from 'node:events';
import type { Consumer, ConsumerMessages, JsMsg } from '@nats-io/jetstream';
import type { Logger } from '../../shared/log.ts';
import { Slots, releaseAll, reserve } from './capacity.ts';
import { dispatch, type DispatchContext, type Route } from './dispatch.ts';

export interface PullOptions {
  /** Most messages in flight for this consumer. */
  concurrency: number;
  /** Most messages per fetch. */
  batch: number;
  /** How long one fetch waits for messages. */
  expiresMs: number;
  /** The consumer's ack wait: in-progress acks go out every third of it. */
  ackWaitMs: number;
}

export class PullLoop {
  readonly slots: Slots;
  #stopping = false;
  #fetchers: Promise<void>[] = [];
  #open = new Set<ConsumerMessages>();
  #inFlight = new Set<Promise<unknown>>();
  /** Messages in flight and when they arrived, for the in-progress acks. */
  #working = new Map<JsMsg, number>();
  #ticker: NodeJS.Timeout | undefined;
  /** Aborted when the shutdown grace is over: every in-flight invocation is cancelled. */
  #cancel = new AbortController();
  #lastError: string | undefined;

  constructor(
    private readonly consumer: Consumer,
    readonly route: Route,
    private readonly dc: DispatchContext,
    private readonly bridgeSlots: Slots,
    private readonly opts: PullOptions,
    private readonly log: Logger,
  ) {
    this.slots = new Slots(opts.concurrency);
    // Every message in flight listens for cancellation: as many listeners as the concurrency.
    setMaxListeners(opts.concurrency + 10, this.#cancel.signal);
  }

  get inFlight(): number {
    return this.#inFlight.size;
  }

  /** The last fetch error, until a fetch succeeds again (readiness shows it). */
  get lastError(): string | undefined {
    return this.#lastError;
  }

  start(): void {
    const n = Math.max(1, Math.ceil(this.opts.concurrency / this.opts.batch));
    for (let i = 0; i < n; i++) this.#fetchers.push(this.#fetchLoop());
    // One ticker for all messages in flight, rather than a timer per message.
    const every = Math.max(100, Math.floor(this.opts.ackWaitMs / 3));
    this.#ticker = setInterval(() => {
      const due = performance.now() - every;
      for (const [m, since] of this.#working) if (since <= due) m.working();
    }, every);
  }

  async #fetchLoop(): Promise<void> {
    const pools = [this.slots, this.bridgeSlots];
    let failures = 0;
    while (!this.#stopping) {
      const n = await reserve(pools, this.opts.batch, () => this.#stopping, LINGER_MS);
      if (n === 0) break;
      let delivered = 0;
      let batch: ConsumerMessages | undefined;
      try {
        batch = await this.consumer.fetch({ max_messages: n, expires: this.opts.expiresMs });
        this.#open.add(batch);
        for await (const m of batch) {
          delivered++;
          this.#working.set(m, performance.now());
          const p: Promise<unknown> = dispatch(m, this.route, this.dc, this.#cancel.signal).finally(() => {
            this.#working.delete(m);
            this.#inFlight.delete(p);
            releaseAll(pools, 1);
          });
          this.#inFlight.add(p);
        }
        failures = 0;
        this.#lastError = undefined;
      } catch (err) {
        // NATS reconnecting, the consumer deleted under us, a timeout: back off and go on.
        failures++;
        this.#lastError = (err as Error).message;
        if (!this.#stopping) {
          this.log.warn({ err, consumer: this.route.consumer, failures }, 'fetch failed');
          await sleep(Math.min(5_000, 100 * 2 ** Math.min(failures, 6)));
        }
      } finally {
        if (batch) this.#open.delete(batch);
        releaseAll(pools, n - delivered);
      }
    }
  }

  /**
   * Stop fetching, then wait up to graceMs for the messages in flight. True if all
   * settled in time. Past the grace, in-flight steps are cancelled: they give their
   * claims back and are nak'd, so another bridge can take them at once.
   */
  async stop(graceMs: number): Promise<boolean> {
    this.#stopping = true;
    this.slots.wake();
    this.bridgeSlots.wake();
    // Ending a fetch early withdraws its pull request: the server sends no more.
    for (const b of this.#open) b.stop();
    await Promise.all(this.#fetchers);
    try {
      if (await this.#settledWithin(graceMs)) return true;
      this.#cancel.abort();
      await this.#settledWithin(CANCEL_GRACE_MS);
      return false;
    } finally {
      clearInterval(this.#ticker);
    }
  }

  async #settledWithin(ms: number): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<false>((r) => (timer = setTimeout(() => r(false), ms)));
    const settled = (async () => {
      while (this.#inFlight.size > 0) await Promise.allSettled([...this.#inFlight]);
      return true as const;
    })();
    const done = await Promise.race([settled, timedOut]);
    clearTimeout(timer);
    return done;
  }
}

/** How long a fetch may wait for a fuller batch of free slots (see reserve). */
const LINGER_MS = 2;
/** How long cancelled steps get to release their claims and be nak'd. */
const CANCEL_GRACE_MS = 3_000;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
