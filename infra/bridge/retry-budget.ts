// How long the bridge keeps retrying a message: a budget in time, not in
// deliveries, per retry kind (shared/contract/errors.ts):
//   contention  never spends anything: another run won a race, the message is fine;
//   outage      spends the outage budget (BRIDGE_OUTAGE_BUDGET_MS, hours);
//   failure     spends the retry budget (BRIDGE_RETRY_BUDGET_MS, minutes).
// The time between two failures of a message is charged to the kind of the first
// one (that is why the message was waiting), so a message that spent an hour in an
// S3 outage still has its whole retry budget when a real failure follows.
//
// The accounts live in the bridge's memory, keyed by consumer and stream sequence.
// Losing them (a restart, a redelivery to another bridge) only restarts a clock,
// so a message is retried longer, never shorter; JetStream's max_deliver
// (BRIDGE_MAX_DELIVER, in the thousands) is the backstop for a message that keeps
// losing its account.
import type { RetryKind } from '../../shared/contract/errors.ts';

export interface BudgetConfig {
  BRIDGE_RETRY_BUDGET_MS: number;
  BRIDGE_OUTAGE_BUDGET_MS: number;
}

export interface RetryAccount {
  /** The latest transient failure: its kind and when it happened. */
  last: { kind: RetryKind; at: number };
  /** Time charged to each kind so far. */
  spent: Record<RetryKind, number>;
  failures: number;
}

/** A transient failure of `kind` at `now`: the time since the previous one goes to that one's kind. */
export function charge(prev: RetryAccount | undefined, kind: RetryKind, now: number): RetryAccount {
  const spent = prev ? { ...prev.spent } : { contention: 0, outage: 0, failure: 0 };
  if (prev) spent[prev.last.kind] += Math.max(0, now - prev.last.at);
  return { last: { kind, at: now }, spent, failures: (prev?.failures ?? 0) + 1 };
}

export interface Exhausted {
  kind: 'failure' | 'outage';
  spentMs: number;
  budgetMs: number;
  variable: 'BRIDGE_RETRY_BUDGET_MS' | 'BRIDGE_OUTAGE_BUDGET_MS';
}

/** Which budget, if any, the account has used up. Contention has none. */
export function exhausted(a: RetryAccount, cfg: BudgetConfig): Exhausted | undefined {
  if (a.spent.failure > cfg.BRIDGE_RETRY_BUDGET_MS) {
    return { kind: 'failure', spentMs: a.spent.failure, budgetMs: cfg.BRIDGE_RETRY_BUDGET_MS, variable: 'BRIDGE_RETRY_BUDGET_MS' };
  }
  if (a.spent.outage > cfg.BRIDGE_OUTAGE_BUDGET_MS) {
    return { kind: 'outage', spentMs: a.spent.outage, budgetMs: cfg.BRIDGE_OUTAGE_BUDGET_MS, variable: 'BRIDGE_OUTAGE_BUDGET_MS' };
  }
  return undefined;
}

/** Accounts untouched this long belong to messages settled elsewhere; forgetting one only restarts its clock. */
const FORGET_AFTER_MS = 30 * 60_000;
/** At most this many accounts; the least recently charged go first. */
const MAX_ACCOUNTS = 100_000;

export class RetryBudgets {
  readonly #accounts = new Map<string, RetryAccount>();
  #swept = 0;

  constructor(
    private readonly cfg: BudgetConfig,
    private readonly now: () => number = Date.now,
  ) {}

  get size(): number {
    return this.#accounts.size;
  }

  /** Charge a transient failure; returns the account and the budget it used up, if any. */
  charge(key: string, kind: RetryKind): { account: RetryAccount; exhausted: Exhausted | undefined } {
    const now = this.now();
    const account = charge(this.#accounts.get(key), kind, now);
    // Delete first so the Map's insertion order stays least-recently-charged first.
    this.#accounts.delete(key);
    this.#accounts.set(key, account);
    this.#sweep(now);
    return { account, exhausted: exhausted(account, this.cfg) };
  }

  /** The message was settled (acked or dead-lettered). */
  forget(key: string): void {
    this.#accounts.delete(key);
  }

  #sweep(now: number): void {
    while (this.#accounts.size > MAX_ACCOUNTS) this.#accounts.delete(this.#accounts.keys().next().value!);
    if (now - this.#swept < 60_000) return;
    this.#swept = now;
    for (const [k, a] of this.#accounts) {
      if (now - a.last.at < FORGET_AFTER_MS) break; // ordered by last charge
      this.#accounts.delete(k);
    }
  }
}
