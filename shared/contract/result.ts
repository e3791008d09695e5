// What a function returns to the bridge, over HTTP or in-process. The bridge
// publishes `emit` (with deterministic ids) and acks, or acts on `error.class`.
import { z } from 'zod';
import { Envelope } from './envelope.ts';
import { RETRY_KINDS } from './errors.ts';

export const StepSuccess = z.object({
  ok: z.literal(true),
  /**
   * Messages to publish, in order: complete envelopes whose ids the runtime derived
   * from the handled message (the handler returns `Emit`s; see shared/runtime).
   */
  emit: z.array(Envelope).default([]),
  /** Small summary for logs and the inbox; not published. */
  result: z.unknown().optional(),
  /** True when this is the stored result of an earlier run of the same message. */
  replayed: z.boolean().default(false),
});
export type StepSuccess = z.infer<typeof StepSuccess>;

export const StepFailure = z.object({
  ok: z.literal(false),
  error: z.object({
    class: z.enum(['permanent', 'transient']),
    code: z.string(),
    message: z.string(),
    /** For a transient failure: which retry budget it spends (shared/contract/errors.ts); if absent, the code decides. */
    kind: z.enum(RETRY_KINDS).optional(),
    /** For a transient failure: do not try again before this (e.g. another run's claim expires). */
    retryAfterMs: z.number().int().min(0).optional(),
  }),
});
export type StepFailure = z.infer<typeof StepFailure>;

export const StepResponse = z.discriminatedUnion('ok', [StepSuccess, StepFailure]);
export type StepResponse = z.infer<typeof StepResponse>;

/** HTTP status a function answers with for each outcome. */
export const STATUS = { ok: 200, permanent: 422, transient: 503 } as const;
