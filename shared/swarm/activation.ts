// Zero-LLM activation filter: decides cheaply whether a wake-up needs real work.
// Pure; the memory it reads is per (scope, agent) in agent_memory (shared/store/memory.ts).
import type { Dimension } from '../domain/snapshot.ts';

export type Trigger =
  /** New context-log entries (of the agent's kinds) since the last run. */
  | { kind: 'new_context'; minNew?: number }
  /** The artifact the agent reads changed (its sha differs from the last one seen). */
  | { kind: 'artifact_changed' }
  /** At most one run per interval; the first run always passes. */
  | { kind: 'timer'; intervalMs: number }
  /** Convergence pressure on the agent's dimensions is at least the threshold. */
  | { kind: 'pressure'; dimensions: readonly Dimension[]; threshold: number };

export interface Memory {
  lastSeq: number;
  lastHash: string | null;
  lastActivatedAt: number | null;
}

export const EMPTY_MEMORY: Memory = { lastSeq: 0, lastHash: null, lastActivatedAt: null };

export interface Observation {
  now: number;
  latestSeq?: number;
  hash?: string | null;
  pressure?: Partial<Record<Dimension, number>>;
}

export interface Activation {
  activate: boolean;
  /** Which triggers fired (or why none did), for the step's result and the logs. */
  reasons: string[];
}

function fired(t: Trigger, m: Memory, o: Observation): string | null {
  switch (t.kind) {
    case 'new_context': {
      const n = (o.latestSeq ?? 0) - m.lastSeq;
      return n >= (t.minNew ?? 1) ? `${n} new context entr${n === 1 ? 'y' : 'ies'}` : null;
    }
    case 'artifact_changed':
      return o.hash && o.hash !== m.lastHash ? `artifact changed (${o.hash.slice(0, 12)})` : null;
    case 'timer':
      return m.lastActivatedAt === null || o.now - m.lastActivatedAt >= t.intervalMs ? 'timer' : null;
    case 'pressure': {
      const p = t.dimensions.reduce((sum, d) => sum + (o.pressure?.[d] ?? 0), 0);
      return p >= t.threshold ? `pressure ${p.toFixed(3)} on ${t.dimensions.join('+')}` : null;
    }
  }
}

/** Activate when any trigger fires. */
export function activation(triggers: readonly Trigger[], memory: Memory, obs: Observation): Activation {
  const reasons = triggers.map((t) => fired(t, memory, obs)).filter((r): r is string => r !== null);
  return reasons.length ? { activate: true, reasons } : { activate: false, reasons: ['no trigger fired'] };
}
