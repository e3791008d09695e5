// Context-log retention and compaction (V12). Two rules, each in its own transaction per
// scope, under the scope row lock and `SET LOCAL swarm.compaction = 'on'` (the only way
// past the table's append-only trigger):
//
// Retention: a scope whose status is a certified outcome (resolved / escalated / expired,
//   and its latest certificate says so) drops entries older than `retentionDays` up to the
//   log head that certificate covers (`log_seq`). Anything after the certificate, and every
//   entry of a scope that is open or whose certificate is not issued yet, is kept.
// Compaction: in any other scope, entries of noisy kinds (status cards, briefings) older
//   than `compactAfterDays` are folded into one `wal.compacted` summary row, but only below
//   the slowest agent cursor of the scope (agent_memory.last_seq; no cursor, no compaction)
//   and never the latest entry of each noisy kind.
//
// Removed entries are replaced by a summary row at the first removed seq: counts per kind,
// the seq and time range, and a sha256 over the removed rows, so the log still accounts
// for them. Summary rows (kind `wal.*`) are never removed.
import { z } from 'zod';
import { inTransaction, num, type Pool, type Tx } from './db.ts';

export const WalPolicy = z.object({
  retentionDays: z.number().min(0).default(90),
  compactAfterDays: z.number().min(0).default(7),
  noisyKinds: z.array(z.string().min(1)).default(['status_card', 'briefing_short', 'briefing_full', 'heartbeat']),
  /** Only this scope (default: all). */
  scope: z.string().optional(),
  /** Report what would be removed, remove nothing. */
  dryRun: z.boolean().default(false),
});
export type WalPolicy = z.input<typeof WalPolicy>;

export interface WalScopeReport {
  scope: string;
  rule: 'retention' | 'compaction';
  removed: number;
  fromSeq: number | null;
  toSeq: number | null;
  kinds: Record<string, number>;
  sha256: string | null;
  /** Certificate whose coverage allowed a retention. */
  certificateId?: string;
}

export interface WalReport {
  dryRun: boolean;
  scopes: WalScopeReport[];
  removed: number;
}

const DAY = 86_400_000;

const SUMMARY_SQL = (source: string) => `
  SELECT count(*) AS n, min(seq) AS from_seq, max(seq) AS to_seq, min(created_at) AS first_at, max(created_at) AS last_at,
         (SELECT coalesce(jsonb_object_agg(kind, c), '{}') FROM (SELECT kind, count(*) AS c FROM ${source} GROUP BY kind) k) AS kinds,
         encode(sha256(convert_to(coalesce(string_agg(
           json_build_array(seq, kind, payload, source, message_id, created_at)::text, E'\\n' ORDER BY seq), ''), 'UTF8')), 'hex') AS sha256
    FROM ${source}`;

type Summary = { n: string; from_seq: string | null; to_seq: string | null; first_at: Date | null; last_at: Date | null; kinds: Record<string, number>; sha256: string };

async function removeAndSummarise(
  tx: Tx,
  scope: string,
  where: string,
  params: unknown[],
  summaryKind: 'wal.retained' | 'wal.compacted',
  extra: Record<string, unknown>,
  dryRun: boolean,
  minRows: number,
): Promise<Summary | null> {
  const preview = await tx.query<Summary>(`WITH sel AS (SELECT * FROM context_log WHERE ${where}) ${SUMMARY_SQL('sel')}`, params);
  const p = preview.rows[0]!;
  if (num(p.n) < minRows) return null;
  if (dryRun) return p;
  await tx.query(`SET LOCAL swarm.compaction = 'on'`);
  const { rows } = await tx.query<Summary>(`WITH del AS (DELETE FROM context_log WHERE ${where} RETURNING *) ${SUMMARY_SQL('del')}`, params);
  const s = rows[0]!;
  // The summary takes the first removed seq: it sits where the removed entries were, and
  // takes no new seq (cursors past it have seen what it summarises).
  await tx.query(
    `INSERT INTO context_log (scope_id, seq, kind, payload, source, created_at) VALUES ($1, $2, $3, $4, 'wal-compact', now())`,
    [
      scope,
      num(s.from_seq),
      summaryKind,
      JSON.stringify({ from_seq: num(s.from_seq), to_seq: num(s.to_seq), removed: num(s.n), kinds: s.kinds, first_at: s.first_at, last_at: s.last_at, sha256: s.sha256, ...extra }),
    ],
  );
  await tx.query(`SET LOCAL swarm.compaction = 'off'`);
  return s;
}

const report = (scope: string, rule: WalScopeReport['rule'], s: Summary, extra: Partial<WalScopeReport> = {}): WalScopeReport => ({
  scope,
  rule,
  removed: num(s.n),
  fromSeq: s.from_seq === null ? null : num(s.from_seq),
  toSeq: s.to_seq === null ? null : num(s.to_seq),
  kinds: s.kinds,
  sha256: s.sha256,
  ...extra,
});

export async function compactContextLog(pool: Pool, policy: WalPolicy = {}, now: Date = new Date()): Promise<WalReport> {
  const p = WalPolicy.parse(policy);
  const out: WalReport = { dryRun: p.dryRun, scopes: [], removed: 0 };
  const retentionCutoff = new Date(now.getTime() - p.retentionDays * DAY);
  const compactCutoff = new Date(now.getTime() - p.compactAfterDays * DAY);

  // Retention: certified terminal scopes.
  const certified = await pool.query<{ scope_id: string }>(
    `SELECT s.scope_id FROM scopes s
      WHERE s.status IN ('resolved', 'escalated', 'expired') AND ($1::text IS NULL OR s.scope_id = $1)
        AND EXISTS (SELECT 1 FROM context_log l WHERE l.scope_id = s.scope_id AND l.created_at < $2 AND l.kind NOT LIKE 'wal.%')
      ORDER BY s.scope_id`,
    [p.scope ?? null, retentionCutoff],
  );
  const retained = new Set<string>();
  for (const { scope_id: scope } of certified.rows) {
    const r = await inTransaction(pool, async (tx) => {
      // Re-check under the lock: the scope may have re-opened since the listing.
      const { rows } = await tx.query<{ status: string; certificate_id: string | null; outcome: string | null; log_seq: string | null }>(
        `SELECT s.status, c.certificate_id, c.outcome, c.payload->>'log_seq' AS log_seq
           FROM scopes s
           LEFT JOIN LATERAL (SELECT certificate_id, outcome, payload FROM certificates WHERE scope_id = s.scope_id ORDER BY seq DESC LIMIT 1) c ON true
          WHERE s.scope_id = $1 FOR UPDATE OF s`,
        [scope],
      );
      const row = rows[0];
      if (!row?.certificate_id || row.outcome?.toLowerCase() !== row.status || row.log_seq === null) return null;
      const s = await removeAndSummarise(
        tx,
        scope,
        `scope_id = $1 AND seq <= $2 AND created_at < $3 AND kind NOT LIKE 'wal.%'`,
        [scope, num(row.log_seq), retentionCutoff],
        'wal.retained',
        { certificate_id: row.certificate_id, rule: 'retention', retention_days: p.retentionDays },
        p.dryRun,
        1,
      );
      return s ? report(scope, 'retention', s, { certificateId: row.certificate_id }) : null;
    });
    if (r) {
      out.scopes.push(r);
      out.removed += r.removed;
      retained.add(scope);
    }
  }

  // Compaction: noisy kinds below every agent's cursor.
  if (p.noisyKinds.length > 0) {
    const noisy = await pool.query<{ scope_id: string }>(
      `SELECT DISTINCT scope_id FROM context_log WHERE kind = ANY($1) AND created_at < $2 AND ($3::text IS NULL OR scope_id = $3) ORDER BY scope_id`,
      [p.noisyKinds, compactCutoff, p.scope ?? null],
    );
    for (const { scope_id: scope } of noisy.rows) {
      if (retained.has(scope)) continue;
      const r = await inTransaction(pool, async (tx) => {
        await tx.query('SELECT 1 FROM scopes WHERE scope_id = $1 FOR UPDATE', [scope]);
        const cur = await tx.query<{ c: string | null }>('SELECT min(last_seq) AS c FROM agent_memory WHERE scope_id = $1', [scope]);
        if (cur.rows[0]?.c === null || cur.rows[0]?.c === undefined) return null; // nobody's cursor: nobody can vouch
        const cursor = num(cur.rows[0].c);
        const s = await removeAndSummarise(
          tx,
          scope,
          `scope_id = $1 AND kind = ANY($2) AND created_at < $3 AND seq <= $4
           AND seq NOT IN (SELECT max(seq) FROM context_log WHERE scope_id = $1 AND kind = ANY($2) GROUP BY kind)`,
          [scope, p.noisyKinds, compactCutoff, cursor],
          'wal.compacted',
          { rule: 'compaction', cursor, compact_after_days: p.compactAfterDays },
          p.dryRun,
          2, // folding one row into one summary gains nothing
        );
        return s ? report(scope, 'compaction', s) : null;
      });
      if (r) {
        out.scopes.push(r);
        out.removed += r.removed;
      }
    }
  }
  return out;
}
