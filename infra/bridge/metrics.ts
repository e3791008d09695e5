// What the bridge observes at scrape time (shared/adapters/metrics.ts records the rest):
//   - per consumer: messages in flight here, and from JetStream the consumer's pending
//     (not yet delivered: the lag, the autoscale signal) and ack-pending counts;
//   - from Postgres: scopes by status, pending and overdue reviews, unreplayed dead
//     letters, and for the open scopes (at most METRICS_SCOPES_MAX) goal score, V and
//     rounds since either last changed.
// Both are cached for a few seconds, so that several scrapers (or a fast scrape
// interval) cost NATS and Postgres one request per interval, and each query is bounded.
import type { JetStreamManager } from '@nats-io/jetstream';
import type { Attributes } from '@opentelemetry/api';
import { observeBatch } from '../../shared/adapters/metrics.ts';
import type { Logger } from '../../shared/log.ts';
import type { GuardedPool } from '../../shared/runtime/guarded.ts';
import type { Bridge } from './bridge.ts';
import { consumerLag } from './lag.ts';

type Sample = [name: string, value: number, attrs: Attributes];

/** Re-read at most this often, whatever the scrape interval. */
export const METRICS_CACHE_MS = 2_000;

/** A value computed at most every ttlMs; concurrent callers share one computation; a failure is not cached. */
function cached<T>(ttlMs: number, load: () => Promise<T>): () => Promise<T> {
  let at = -Infinity;
  let value: Promise<T> | undefined;
  return () => {
    const now = performance.now();
    if (!value || now - at > ttlMs) {
      at = now;
      value = load().catch((err: unknown) => {
        value = undefined;
        throw err;
      });
    }
    return value;
  };
}

export function observeBridge(o: { bridge: () => Bridge | undefined; jsm: JetStreamManager; stream: string; log: Logger; cacheMs?: number }): () => void {
  const consumers = cached(o.cacheMs ?? METRICS_CACHE_MS, async (): Promise<Sample[]> => {
    const b = o.bridge();
    if (!b) return [];
    return (await consumerLag(o.jsm, o.stream, b.loops.map((l) => l.route.consumer))).flatMap((c): Sample[] => {
      const attrs = { 'messaging.system': 'nats', 'messaging.destination.name': o.stream, 'messaging.consumer.group.name': c.consumer };
      return [['gswarm.consumer.pending', c.pending, attrs], ['gswarm.consumer.ack_pending', c.ackPending, attrs]];
    });
  });
  return observeBatch(
    [
      { name: 'gswarm.bridge.in_flight', description: 'Messages this bridge process is working on, by consumer' },
      { name: 'gswarm.consumer.pending', description: 'Messages in the stream not yet delivered to the consumer (the lag; the autoscale signal)' },
      { name: 'gswarm.consumer.ack_pending', description: 'Messages delivered to the consumer and not yet acknowledged' },
    ],
    async (observe) => {
      const b = o.bridge();
      for (const l of b?.loops ?? []) observe('gswarm.bridge.in_flight', l.inFlight, { 'messaging.system': 'nats', 'messaging.consumer.group.name': l.route.consumer });
      try {
        for (const [n, v, a] of await consumers()) observe(n, v, a);
      } catch (err) {
        // NATS away: the lag series go missing (an alert on absent data can see it) rather than read 0.
        o.log.warn({ err }, 'metrics: could not read consumer info');
      }
    },
  );
}

export interface SqlGaugeOptions {
  overdueMs: number;
  scopesMax: number;
  cacheMs?: number;
}

/** The statements, exported for the test that checks they stay bounded. */
export const SQL = {
  scopes: `SELECT status, count(*)::int AS n FROM scopes GROUP BY status`,
  reviews: `SELECT kind, count(*)::int AS pending,
                   count(*) FILTER (WHERE created_at < now() - make_interval(secs => $1::double precision / 1000))::int AS overdue
              FROM review_queue WHERE status = 'pending' GROUP BY kind`,
  deadLetters: `SELECT consumer, count(*)::int AS n FROM dead_letters WHERE replayed_at IS NULL GROUP BY consumer`,
  // The N most recently active open scopes; for each, its latest round and the latest
  // round whose goal score or V differed from it (both by the primary key, backwards).
  perScope: `SELECT s.scope_id, h.goal_score, h.lyapunov_v, h.round - coalesce(c.round, 0) AS since
               FROM (SELECT scope_id FROM scopes WHERE status = 'open' ORDER BY last_activity_at DESC LIMIT $1) s
               JOIN LATERAL (SELECT round, goal_score, lyapunov_v FROM convergence_history
                              WHERE scope_id = s.scope_id ORDER BY round DESC LIMIT 1) h ON true
               LEFT JOIN LATERAL (SELECT round FROM convergence_history
                                   WHERE scope_id = s.scope_id AND round < h.round
                                     AND (goal_score <> h.goal_score OR lyapunov_v <> h.lyapunov_v)
                                   ORDER BY round DESC LIMIT 1) c ON true`,
} as const;

const SCOPE_STATUSES = ['open', 'resolved', 'escalated', 'blocked', 'expired'] as const;
const REVIEW_KINDS = ['governance_review', 'finality_review'] as const;

export function observeSwarm(db: GuardedPool, opts: SqlGaugeOptions, log: Logger): () => void {
  const load = cached(opts.cacheMs ?? METRICS_CACHE_MS, async (): Promise<Sample[]> => {
    const [scopes, reviews, dead, per] = await Promise.all([
      db.pool.query<{ status: string; n: number }>(SQL.scopes),
      db.pool.query<{ kind: string; pending: number; overdue: number }>(SQL.reviews, [opts.overdueMs]),
      db.pool.query<{ consumer: string; n: number }>(SQL.deadLetters),
      db.pool.query<{ scope_id: string; goal_score: number; lyapunov_v: number; since: number }>(SQL.perScope, [opts.scopesMax]),
    ]);
    const out: Sample[] = [];
    // Every status and kind, zeros included: an alert on `> 0` needs the series to exist.
    const byStatus = new Map(scopes.rows.map((r) => [r.status, r.n]));
    for (const s of SCOPE_STATUSES) out.push(['gswarm.scopes', byStatus.get(s) ?? 0, { 'gswarm.scope.status': s }]);
    const byKind = new Map(reviews.rows.map((r) => [r.kind, r]));
    for (const k of REVIEW_KINDS) {
      out.push(['gswarm.reviews.pending', byKind.get(k)?.pending ?? 0, { 'gswarm.review.kind': k }]);
      out.push(['gswarm.reviews.overdue', byKind.get(k)?.overdue ?? 0, { 'gswarm.review.kind': k }]);
    }
    for (const r of dead.rows) out.push(['gswarm.dead_letters.unreplayed', r.n, { 'messaging.consumer.group.name': r.consumer }]);
    for (const r of per.rows) {
      const a = { scope: r.scope_id };
      out.push(['gswarm.scope.goal_score', Number(r.goal_score), a], ['gswarm.scope.lyapunov_v', Number(r.lyapunov_v), a], ['gswarm.scope.rounds_since_change', Number(r.since), a]);
    }
    out.push(['gswarm.scope.overflow', Math.max(0, (byStatus.get('open') ?? 0) - opts.scopesMax), {}]);
    return out;
  });
  return observeBatch(
    [
      { name: 'gswarm.scopes', description: 'Scopes by status (blocked: the finality gates found a blocker)' },
      { name: 'gswarm.reviews.pending', description: 'Human reviews waiting for an answer, by kind' },
      { name: 'gswarm.reviews.overdue', description: 'Pending reviews older than METRICS_REVIEW_OVERDUE_MS, by kind' },
      { name: 'gswarm.dead_letters.unreplayed', description: 'Dead letters not yet replayed, by consumer (no series while there are none)' },
      { name: 'gswarm.scope.goal_score', description: 'Goal score of the latest convergence round, per open scope (bounded)' },
      { name: 'gswarm.scope.lyapunov_v', description: 'Lyapunov V of the latest convergence round, per open scope (bounded)' },
      { name: 'gswarm.scope.rounds_since_change', description: 'Rounds since the goal score or V last changed, per open scope (bounded)' },
      { name: 'gswarm.scope.overflow', description: 'Open scopes beyond METRICS_SCOPES_MAX, which have no per-scope series' },
    ],
    async (observe) => {
      try {
        for (const [n, v, a] of await load()) observe(n, v, a);
      } catch (err) {
        log.warn({ err }, 'metrics: could not read the swarm figures from Postgres');
      }
    },
  );
}
