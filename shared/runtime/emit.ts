// Emitted messages get ids derived from what caused them, never chosen: the same
// handled message always yields the same ids, so when a redelivery replays a
// stored result, JetStream's duplicate window (Nats-Msg-Id) drops the republish,
// and past the window the receiving function's inbox does.
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { Emit, type Envelope } from '../contract/envelope.ts';
import { PermanentError } from '../contract/errors.ts';
import { describeIssues } from '../contract/envelope.ts';

/**
 * `<step>:<22 chars>`: a hash of (step, handled message id, emitted type, key or
 * index). The step is part of it because two functions handling the same message
 * may emit the same type, and those are different messages.
 */
export function emitId(step: string, parentId: string, type: string, keyOrIndex: string | number): string {
  const h = createHash('sha256').update(`${step}\u0000${parentId}\u0000${type}\u0000${keyOrIndex}`).digest('base64url');
  return `${step}:${h.slice(0, 22)}`;
}

/**
 * Turn a handler's emits into complete envelopes (a handler bug here is permanent).
 * `allowed`: the types the step declared (its row of the catalogue); anything else is
 * refused before the step's writes commit.
 */
export function toEnvelopes(step: string, parent: Envelope, emits: readonly z.input<typeof Emit>[] | undefined, allowed: readonly string[]): Envelope[] {
  if (!emits?.length) return [];
  const parsed = z.array(Emit).safeParse(emits);
  if (!parsed.success) throw new PermanentError('invalid_emit', `step ${step} emitted an invalid message: ${describeIssues(parsed.error)}`);
  const foreign = parsed.data.find((e) => !allowed.includes(e.type));
  if (foreign) throw new PermanentError('emit_not_allowed', `step ${step} may not emit ${foreign.type} (it emits ${allowed.join(', ') || 'nothing'})`);
  const ts = new Date().toISOString();
  const seen = new Set<string>();
  return parsed.data.map((e, i) => {
    const id = emitId(step, parent.id, e.type, e.key ?? i);
    if (seen.has(id)) throw new PermanentError('duplicate_emit', `step ${step} emitted two ${e.type} messages with key ${e.key}`);
    seen.add(id);
    return { id, scope: e.scope ?? parent.scope, type: e.type, payload: e.payload, attempt: 1, causation: parent.id, source: step, ts };
  });
}
