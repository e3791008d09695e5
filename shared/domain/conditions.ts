// finality.yaml conditions (reference §6.1): `key: value`, where value is a bare number
// or "<op> <number>". Keys name snapshot quantities; an unknown key is a load error
// (the earlier implementation silently evaluated it as false).
import type { Snapshot } from './snapshot.ts';

export const CONDITION_KEYS = {
  'claims.active.count': (s) => s.claims_active_count,
  'claims.active.min_confidence': (s) => s.claims_active_min_confidence,
  'claims.active.avg_confidence': (s) => s.claims_active_avg_confidence,
  'contradictions.total_count': (s) => s.contradictions_total_count,
  'contradictions.unresolved_count': (s) => s.contradictions_unresolved_count,
  'contradictions.mass': (s) => s.contradiction_mass,
  'goals.total_count': (s) => s.goals_total_count,
  'goals.completion_ratio': (s) => s.goals_completion_ratio,
  'goals.unreachable_count': (s) => s.goals_unreachable_count,
  'risks.critical.active_count': (s) => s.risks_critical_active_count,
  'assessments.critical_unaddressed_count': (s) => s.assessments_critical_unaddressed_count,
  'evidence.coverage': (s) => s.evidence_coverage,
  'scope.risk_score': (s) => s.scope_risk_score,
  'scope.idle_cycles': (s) => s.idle_cycles,
  'scope.last_delta_age_ms': (s) => s.last_delta_age_ms,
  'scope.last_active_age_ms': (s) => s.last_active_age_ms,
} as const satisfies Record<string, (s: Snapshot) => number>;

export type ConditionKey = keyof typeof CONDITION_KEYS;
export const CONDITION_KEY_NAMES = Object.keys(CONDITION_KEYS) as [ConditionKey, ...ConditionKey[]];

export type ConditionOp = '>=' | '<=' | '>' | '<' | '==';

export interface Condition {
  key: ConditionKey;
  op: ConditionOp;
  value: number;
}

const OP_RE = /^\s*(>=|<=|==|>|<)\s*(-?(?:\d+\.?\d*|\.\d+)(?:e[-+]?\d+)?)\s*$/i;

/**
 * Parse one condition value. A bare number means "== 0" for a zero count and ">=" otherwise
 * (the reference grammar). Returns null when the string is not "<op> <number>".
 */
export function parseCondition(key: ConditionKey, raw: number | string): Condition | null {
  if (typeof raw === 'number') {
    if (!Number.isFinite(raw)) return null;
    return { key, op: raw === 0 && key.includes('count') ? '==' : '>=', value: raw };
  }
  const m = OP_RE.exec(raw);
  if (!m) return null;
  return { key, op: m[1] as ConditionOp, value: Number(m[2]) };
}

const EPS = 1e-9;

export function conditionHolds(c: Condition, s: Snapshot): boolean {
  const x = CONDITION_KEYS[c.key](s);
  switch (c.op) {
    case '>=':
      return x >= c.value - EPS;
    case '<=':
      return x <= c.value + EPS;
    case '>':
      return x > c.value + EPS;
    case '<':
      return x < c.value - EPS;
    case '==':
      return Math.abs(x - c.value) <= EPS;
  }
}

export const formatCondition = (c: Condition): string => `${c.key} ${c.op} ${c.value}`;

export interface RuleResult {
  met: boolean;
  /** Conditions that do not hold, as "key op value (actual x)". */
  failed: string[];
  holding: string[];
}

export function evaluateRule(rule: { mode: 'all' | 'any'; conditions: readonly Condition[] }, s: Snapshot): RuleResult {
  const failed: string[] = [];
  const holding: string[] = [];
  for (const c of rule.conditions) {
    const text = `${formatCondition(c)} (actual ${round(CONDITION_KEYS[c.key](s))})`;
    (conditionHolds(c, s) ? holding : failed).push(text);
  }
  const met = rule.mode === 'all' ? failed.length === 0 : holding.length > 0;
  return { met, failed, holding };
}

const round = (x: number) => Math.round(x * 1e4) / 1e4;
