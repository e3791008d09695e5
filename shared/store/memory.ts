// Activation memory per (scope, agent): what the agent saw when it last ran (the
// agent_memory table; shared/swarm/activation.ts decides from it).
import type { Queryable } from '../adapters/db.ts';

/** One agent's memory on one scope; the shape shared/swarm/activation.ts reads as its Memory. */
export interface AgentMemory {
  lastSeq: number;
  lastHash: string | null;
  lastActivatedAt: number | null;
}

const EMPTY: AgentMemory = { lastSeq: 0, lastHash: null, lastActivatedAt: null };

export async function loadMemory(q: Queryable, scope: string, agent: string): Promise<AgentMemory> {
  const { rows } = await q.query<{ last_seq: string; last_hash: string | null; last_activated_at: Date | null }>(
    'SELECT last_seq, last_hash, last_activated_at FROM agent_memory WHERE scope_id = $1 AND agent = $2',
    [scope, agent],
  );
  const r = rows[0];
  if (!r) return { ...EMPTY };
  return { lastSeq: Number(r.last_seq), lastHash: r.last_hash, lastActivatedAt: r.last_activated_at?.getTime() ?? null };
}

/** Record a run. Sequences only move forward, so a late redelivery cannot rewind an agent. */
export async function saveMemory(q: Queryable, scope: string, agent: string, m: Partial<AgentMemory> & { activated?: boolean }): Promise<void> {
  await q.query(
    `INSERT INTO agent_memory (scope_id, agent, last_seq, last_hash, last_activated_at, stats, updated_at)
     VALUES ($1, $2, $3, $4, CASE WHEN $5 THEN now() END, jsonb_build_object('runs', 1, 'activations', CASE WHEN $5 THEN 1 ELSE 0 END), now())
     ON CONFLICT (scope_id, agent) DO UPDATE SET
       last_seq = GREATEST(agent_memory.last_seq, EXCLUDED.last_seq),
       last_hash = COALESCE($4, agent_memory.last_hash),
       last_activated_at = CASE WHEN $5 THEN now() ELSE agent_memory.last_activated_at END,
       stats = jsonb_build_object(
         'runs', COALESCE((agent_memory.stats->>'runs')::int, 0) + 1,
         'activations', COALESCE((agent_memory.stats->>'activations')::int, 0) + CASE WHEN $5 THEN 1 ELSE 0 END),
       updated_at = now()`,
    [scope, agent, m.lastSeq ?? 0, m.lastHash ?? null, m.activated ?? false],
  );
}
