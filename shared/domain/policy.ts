// Grammar of governance.yaml and finality.yaml (reference §5.1, §6.1), as zod schemas.
// Pure: the loader (shared/policy/load.ts) reads the files.
import { z } from 'zod';
import { ScopeId } from '../contract/envelope.ts';
import { CONDITION_KEY_NAMES, parseCondition, type Condition, type ConditionKey } from './conditions.ts';
import { STATE_NODES, SUCCESSOR, StateNodeSchema } from './state-machine.ts';

// ---------------------------------------------------------------- governance

export const MODES = ['YOLO', 'MITL', 'MASTER'] as const;
export const ModeSchema = z.enum(MODES);
export type Mode = z.infer<typeof ModeSchema>;

export const DRIFT_LEVELS = ['none', 'low', 'medium', 'high', 'critical'] as const;
export const DriftLevelSchema = z.enum(DRIFT_LEVELS);
export type DriftLevel = z.infer<typeof DriftLevelSchema>;

/** factual | goal | contradiction | entropy, or a type a drift producer adds later. */
export const DriftTypeSchema = z.string().regex(/^[a-z][a-z0-9_]{0,63}$/, 'drift type: lower-case word');
const ActionName = z.string().regex(/^[a-z][a-z0-9_]{0,63}$/, 'action: lower-case word');
const oneOrMany = <T extends z.ZodType>(t: T) =>
  z.union([t, z.array(t).min(1)]).transform((v) => (Array.isArray(v) ? v : [v]) as z.output<T>[]);

export const DriftRuleSchema = z
  .object({
    when: z
      .object({
        drift_level: oneOrMany(DriftLevelSchema),
        drift_type: oneOrMany(DriftTypeSchema),
      })
      .strict(),
    action: ActionName,
  })
  .strict();

export const TransitionRuleSchema = z
  .object({
    from: StateNodeSchema,
    to: StateNodeSchema,
    block_when: z
      .object({
        drift_level: oneOrMany(DriftLevelSchema),
        /** Optional: block only when the drift also has one of these types. */
        drift_type: oneOrMany(DriftTypeSchema).optional(),
      })
      .strict(),
    reason: z.string().min(1).max(500),
    /** review: a human may override (MASTER turns it into reject); reject: final. */
    effect: z.enum(['review', 'reject']).default('review'),
  })
  .strict()
  .refine((r) => SUCCESSOR[r.from] === r.to, {
    message: `from/to must be an edge of the cycle ${STATE_NODES.join(' → ')} → ${STATE_NODES[0]}`,
  });

// ---------------------------------------------------------------- deadlines

const DURATION_UNIT_MS = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;
/** At most a year: a deadline further away is no deadline. */
const MAX_DURATION_MS = 365 * 86_400_000;

/** `90s`, `30m`, `24h`, `7d` → milliseconds. */
const DURATION_HINT = 'a duration: a whole number and s, m, h or d (90s, 30m, 24h, 7d)';
export const DurationSchema = z
  .string({ error: DURATION_HINT })
  .regex(/^[1-9][0-9]{0,5}[smhd]$/, DURATION_HINT)
  .transform((v) => Number(v.slice(0, -1)) * DURATION_UNIT_MS[v.slice(-1) as keyof typeof DURATION_UNIT_MS])
  .refine((ms) => ms <= MAX_DURATION_MS, { message: 'at most 365d' });

/** An OpenFGA group (`group:<id>`) whose members may answer a review once it is escalated to them. */
export const GroupId = z.string().regex(/^group:[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/, 'escalate_to: an OpenFGA group, group:<id>');

/** What a passed deadline does: hand the review to another group, or answer it the safe way. */
export const FAIL_SAFE = ['reject', 'defer'] as const;

/** One level, then what follows it; written nested in YAML (`then:`), read as a list. */
export interface DeadlineLevel {
  respond_within_ms: number;
  /** Escalate to this group (the review stays pending, now answerable by its members too)... */
  escalate_to?: string;
  /** ... or apply this answer (as system:deadline). Exactly one of the two. */
  fail_safe?: (typeof FAIL_SAFE)[number];
}

/** Levels per review kind: at most this many (a review is escalated at most MAX_DEADLINE_LEVELS - 1 times). */
export const MAX_DEADLINE_LEVELS = 4;

// A level written in YAML. Built to a fixed depth (zod has no bound on recursion; the
// grammar does): the innermost level cannot say `then`.
function levelSchema(depth: number): z.ZodType<unknown> {
  const base = {
    respond_within: DurationSchema,
    escalate_to: GroupId.optional(),
    fail_safe: z.enum(FAIL_SAFE).optional(),
  };
  const shape = depth > 1 ? { ...base, then: z.lazy(() => levelSchema(depth - 1)).optional() } : base;
  return z
    .object(shape)
    .strict()
    .superRefine((l: { escalate_to?: unknown; fail_safe?: unknown; then?: unknown }, ctx) => {
      if ((l.escalate_to === undefined) === (l.fail_safe === undefined)) {
        ctx.addIssue({ code: 'custom', message: 'a level has exactly one of escalate_to and fail_safe' });
      }
      if (l.fail_safe !== undefined && l.then !== undefined) {
        ctx.addIssue({ code: 'custom', path: ['then'], message: 'nothing follows a fail_safe: the review is answered' });
      }
    });
}

type LevelIn = { respond_within: number; escalate_to?: string; fail_safe?: (typeof FAIL_SAFE)[number]; then?: LevelIn };
const flatten = (l: LevelIn): DeadlineLevel[] => [
  { respond_within_ms: l.respond_within, ...(l.escalate_to ? { escalate_to: l.escalate_to } : {}), ...(l.fail_safe ? { fail_safe: l.fail_safe } : {}) },
  ...(l.then ? flatten(l.then) : []),
];
const DeadlineChain = levelSchema(MAX_DEADLINE_LEVELS).transform((l) => flatten(l as LevelIn));

export const DeadlinesSchema = z
  .object({
    governance_review: DeadlineChain.optional(),
    // A finality review is never rejected by a clock: "not final yet" is deferral.
    finality_review: DeadlineChain.refine((ls) => !ls.some((l) => l.fail_safe === 'reject'), {
      message: 'a finality review cannot fail safe to reject; use fail_safe: defer',
    }).optional(),
  })
  .strict();
export type Deadlines = z.output<typeof DeadlinesSchema>;

export const GovernancePolicySchema = z
  .object({
    mode: ModeSchema,
    /** Per-scope overrides; only the mode can be overridden. */
    scopes: z.record(ScopeId, z.object({ mode: ModeSchema }).strict()).default({}),
    rules: z.array(DriftRuleSchema).default([]),
    transition_rules: z.array(TransitionRuleSchema).default([]),
    /** Per review kind: how long a review waits for an answer and what happens then. Absent: it waits forever. */
    deadlines: DeadlinesSchema.default({}),
  })
  .strict();

export type GovernancePolicy = z.output<typeof GovernancePolicySchema>;
export type DriftRule = z.output<typeof DriftRuleSchema>;
export type TransitionRule = z.output<typeof TransitionRuleSchema>;

// ---------------------------------------------------------------- finality

const unit = z.number().min(0).max(1);
const posInt = z.number().int().min(1);

const ConditionSchema = z
  .record(z.string(), z.union([z.number(), z.string()]))
  .refine((m) => Object.keys(m).length === 1, { message: 'each condition is a one-key map `key: value`' })
  .transform((m, ctx): Condition => {
    const [key, raw] = Object.entries(m)[0]!;
    if (!(CONDITION_KEY_NAMES as string[]).includes(key)) {
      ctx.addIssue({ code: 'custom', message: `unknown condition key "${key}"; known: ${CONDITION_KEY_NAMES.join(', ')}` });
      return z.NEVER;
    }
    const c = parseCondition(key as ConditionKey, raw);
    if (!c) {
      ctx.addIssue({ code: 'custom', message: `${key}: expected a number or "<op> <number>" with op one of >= <= > < ==, got ${JSON.stringify(raw)}` });
      return z.NEVER;
    }
    return c;
  });

export const FINALITY_RULE_OUTCOMES = ['RESOLVED', 'ESCALATED', 'BLOCKED', 'EXPIRED'] as const;
export type RuleOutcome = (typeof FINALITY_RULE_OUTCOMES)[number];

const FinalityRuleSchema = z
  .object({
    mode: z.enum(['all', 'any']).default('all'),
    conditions: z.array(ConditionSchema).min(1),
  })
  .strict();

const WeightsSchema = z
  .object({
    claim_confidence: unit,
    contradiction_resolution: unit,
    goal_completion: unit,
    risk_score_inverse: unit,
  })
  .strict()
  .refine((w) => Math.abs(w.claim_confidence + w.contradiction_resolution + w.goal_completion + w.risk_score_inverse - 1) < 1e-6, {
    message: 'weights must sum to 1',
  });

export const FinalityPolicySchema = z
  .object({
    goal_gradient: z
      .object({
        weights: WeightsSchema,
        /** Average claim confidence that counts as a full claim dimension. */
        claim_confidence_target: z.number().gt(0).max(1).default(0.85),
        near_finality_threshold: unit.default(0.4),
        auto_finality_threshold: unit.default(0.92),
      })
      .strict()
      .refine((g) => g.near_finality_threshold < g.auto_finality_threshold, {
        message: 'near_finality_threshold must be below auto_finality_threshold',
      }),
    convergence: z
      .object({
        beta: posInt.default(3),
        tau: posInt.default(3),
        ema_alpha: z.number().gt(0).max(1).default(0.3),
        plateau_threshold: z.number().min(0).default(0.01),
        history_depth: z.number().int().min(2).max(1000).default(20),
        divergence_rate: z.number().max(0).default(-0.05),
        monotonic_tolerance: z.number().min(0).default(0.001),
        eta_target_v: z.number().gt(0).default(0.005),
        rate_window: posInt.default(5),
        oscillation_window: z.number().int().min(2).default(10),
        /** Gate C: RESOLVED needs at least this trajectory quality. */
        min_trajectory_quality: unit.default(0.7),
      })
      .strict()
      .prefault({}),
    /** Gate D: RESOLVED needs this many idle rounds in a row and this long without a graph change. */
    quiescence: z
      .object({
        idle_cycles_min: z.number().int().min(0).default(1),
        window_ms: z.number().int().min(0).default(0),
      })
      .strict()
      .prefault({}),
    /** Gate B. */
    evidence: z
      .object({
        /** Node kinds that must exist before RESOLVED. */
        required_kinds: z.array(z.enum(['claim', 'goal', 'risk', 'assessment'])).default([]),
        /** Share of active claims that cite a source. */
        min_coverage: unit.default(0.8),
        max_contradiction_mass: z.number().min(0).default(0),
        /** Context-log kinds that count as new evidence: they re-open a certified scope. */
        log_kinds: z.array(z.string().min(1)).min(1).default(['context_doc', 'resolution', 'bootstrap']),
      })
      .strict()
      .prefault({}),
    /** Gate E: below this the scope stays ACTIVE (nothing to review). */
    minimum_content: z
      .object({
        active_claims: z.number().int().min(0).default(1),
        goals: z.number().int().min(0).default(0),
      })
      .strict()
      .prefault({}),
    review: z
      .object({
        defer_days: posInt.max(365).default(7),
        /** No review while the swarm is still converging on its own (α > 0, monotonic, no plateau). */
        suppress_while_converging: z.boolean().default(true),
      })
      .strict()
      .prefault({}),
    /** Outcomes that earn a signed certificate when a scope enters them. */
    certify: z.array(z.enum(FINALITY_RULE_OUTCOMES)).default(['RESOLVED', 'ESCALATED', 'EXPIRED']),
    /** Outcome → rule; ESCALATED / BLOCKED / EXPIRED are tried in file order. */
    finality: z
      .partialRecord(z.enum(FINALITY_RULE_OUTCOMES), FinalityRuleSchema)
      .refine((r) => r.RESOLVED !== undefined, { message: 'finality.RESOLVED is required' }),
  })
  .strict();

export type FinalityPolicy = z.output<typeof FinalityPolicySchema>;
export type FinalityRule = z.output<typeof FinalityRuleSchema>;
