// The message envelope every function receives and emits. Validated at the edge:
// a message that does not parse is a permanent failure (dead-lettered with the
// reason), never retried.
import { z } from 'zod';
import { PermanentError } from './errors.ts';

/** Scope ids double as NATS subject tokens and S3 key segments. */
export const ScopeId = z
  .string()
  .regex(/^[a-z0-9][a-z0-9_-]{0,63}$/, 'scope must be 1-64 chars of a-z, 0-9, "_" or "-", starting with a letter or digit');
export type ScopeId = z.infer<typeof ScopeId>;

/** Dotted lower-case type, e.g. "doc.submitted", "proposal.advance". */
export const MessageType = z
  .string()
  .regex(/^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*){0,3}$/, 'type must be 1-4 dot-separated lower-case words');
export type MessageType = z.infer<typeof MessageType>;

export const MessageId = z
  .string()
  .min(1, 'id must not be empty')
  .max(200)
  .regex(/^[A-Za-z0-9._:\/-]+$/, 'id may contain only letters, digits and . _ : / -');

/** W3C trace context, carried in NATS headers and copied here for HTTP invocations. */
export const TraceContext = z.object({
  traceparent: z.string().regex(/^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$/, 'invalid traceparent'),
  tracestate: z.string().max(512).optional(),
});
export type TraceContext = z.infer<typeof TraceContext>;

/** Upper bound on one serialised envelope; larger documents belong in S3. */
export const MAX_ENVELOPE_BYTES = 256 * 1024;

export const Envelope = z.object({
  id: MessageId,
  scope: ScopeId,
  type: MessageType,
  payload: z.record(z.string(), z.unknown()),
  /** Delivery attempt, 1-based; set by the bridge from JetStream's delivery count. */
  attempt: z.number().int().min(1).default(1),
  trace: TraceContext.optional(),
  /** Id of the message that caused this one (for audit and deterministic ids). */
  causation: MessageId.optional(),
  source: z.string().min(1).max(64).default('unknown'),
  ts: z.iso.datetime({ offset: true }).optional(),
});
export type Envelope = z.infer<typeof Envelope>;
export type EnvelopeInput = z.input<typeof Envelope>;

/** A message a function asks the runtime to publish. Its id is derived, not chosen. */
export const Emit = z.object({
  type: MessageType,
  /** Defaults to the scope of the message being handled. */
  scope: ScopeId.optional(),
  payload: z.record(z.string(), z.unknown()),
  /** Distinguishes two emits of the same type from one handler call. */
  key: z.string().max(100).optional(),
});
export type Emit = z.infer<typeof Emit>;

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** "path: message; ..." for a zod error: the reason a dead letter carries. */
export function describeIssues(err: z.ZodError): string {
  return err.issues.map((i) => `${i.path.length ? i.path.join('.') : '(envelope)'}: ${i.message}`).join('; ');
}

/**
 * Decode and validate one serialised envelope at the edge. Anything that is not a
 * well-formed envelope of at most MAX_ENVELOPE_BYTES is a PermanentError whose
 * message says what is wrong; `attempt`, when given, overrides the field (the
 * bridge passes JetStream's delivery count).
 */
export function decodeEnvelope(raw: string | Uint8Array, attempt?: number): Envelope {
  const size = typeof raw === 'string' ? Buffer.byteLength(raw) : raw.byteLength;
  if (size > MAX_ENVELOPE_BYTES) {
    throw new PermanentError('envelope_too_large', `envelope is ${size} bytes, more than the ${MAX_ENVELOPE_BYTES} allowed; put large content in S3 and send its key`);
  }
  let json: unknown;
  try {
    json = JSON.parse(typeof raw === 'string' ? raw : utf8.decode(raw));
  } catch (err) {
    throw new PermanentError('envelope_not_json', `envelope is not JSON: ${(err as Error).message}`);
  }
  if (attempt !== undefined && json !== null && typeof json === 'object' && !Array.isArray(json)) {
    (json as Record<string, unknown>).attempt = attempt;
  }
  const parsed = Envelope.safeParse(json);
  if (!parsed.success) throw new PermanentError('envelope_invalid', `invalid envelope: ${describeIssues(parsed.error)}`);
  return parsed.data;
}
