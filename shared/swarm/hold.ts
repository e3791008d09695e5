// The hold of a paused or closed scope, in one place for every step that acts on a
// scope (governance, executor, finality, drift, planner): `holds: true` in
// defineAgentStep (./agent-step.ts), which wraps the handler in holdable and adds
// 'hold.released' to the step's `consumes`.
//
//   paused  the message is recorded in held_messages in the same transaction as its
//           inbox completion (acknowledged, not lost), and the step does nothing;
//   closed  the step does nothing (the scope's history stays as it is);
//   neither the handler runs, and its commit reads the hold again inside its own
//           transaction (FOR KEY SHARE, see shared/store/hold.ts): a pause committed
//           while the handler was working wins, and the message is held instead.
//
// A resume publishes one `hold.released` per held message, naming it; the step that held
// it runs the stored message then, and deletes the row in the transaction that acts.
// What it does is what it would have done: the handler sees the original envelope (its
// id keys the step's own idempotent records, e.g. governance's decision), and a stale
// message meets the same epoch compare-and-swap as any late delivery.
import { TransientError } from '../contract/errors.ts';
import type { Envelope } from '../contract/envelope.ts';
import { payloadOf } from '../contract/messages.ts';
import type { Statement } from '../runtime/inbox/store.ts';
import type { StepContext, StepOutput } from '../runtime/step.ts';
import type { Tx } from '../store/db.ts';
import { heldEnvelope, readHold, recordHeld, takeHeld } from '../store/hold.ts';
import type { Hold } from '../domain/hold.ts';

export const RELEASE_TYPE = 'hold.released';

type Handler = (msg: Envelope, ctx: StepContext) => Promise<StepOutput | void>;

/** What a step that did not act returns (stored in its inbox, logged). */
const heldOutput = (hold: Hold, released: boolean): StepOutput => ({
  emit: [],
  result: hold === 'paused' ? { held: 'paused', ...(released ? { released_while_paused: true } : {}) } : { skipped: 'scope closed' },
});

/**
 * The hold inside the acting transaction: null to go on, or the output instead of acting
 * (the message recorded as held, or dropped for a closed scope).
 */
async function holdInTx(tx: Tx, step: string, msg: Envelope, released: boolean): Promise<StepOutput | null> {
  const hold = await readHold(tx, msg.scope, { lock: true });
  if (hold === 'paused') {
    // A released message paused again stays where it is (the row is still there).
    if (!released) await recordHeld(tx, step, msg);
    return heldOutput(hold, released);
  }
  if (hold === 'closed') {
    if (released) await takeHeld(tx, msg.scope, step, msg.id);
    return heldOutput(hold, released);
  }
  return null;
}

export function holdable(handle: Handler): Handler {
  return async (delivered, ctx) => {
    let msg = delivered;
    let released = false;
    if (delivered.type === RELEASE_TYPE) {
      const r = payloadOf('hold.released', delivered.payload);
      // Every holding step consumes releases; each acts on its own.
      if (r.consumer !== ctx.step) return { result: { skipped: `a release for ${r.consumer}` } };
      const stored = await heldEnvelope(ctx.deps.db, delivered.scope, ctx.step, r.message_id);
      if (!stored) return { result: { skipped: 'no longer held', message_id: r.message_id } };
      msg = { ...stored, attempt: delivered.attempt };
      released = true;
    }

    // Cheap check first: a held scope costs no LLM call, no S3 read.
    if (await readHold(ctx.deps.db, msg.scope)) {
      return ctx.commit(async (tx) => {
        const out = await holdInTx(tx, ctx.step, msg, released);
        if (out) return out;
        // Resumed between the two reads: run it on the next delivery, which is soon.
        throw new TransientError('hold_lifted', `scope ${msg.scope} was resumed while ${msg.id} was being held; delivering it again`, { kind: 'contention' });
      });
    }

    let committed = false;
    const commit = <T extends StepOutput | void>(writes: (tx: Tx) => Promise<T>): Promise<T> => {
      committed = true;
      return ctx.commit(async (tx) => {
        const out = await holdInTx(tx, ctx.step, msg, released);
        // The step returns what its commit returns: here, the hold's output instead.
        if (out) return out as unknown as T;
        if (released && !(await takeHeld(tx, msg.scope, ctx.step, msg.id))) return { emit: [], result: { skipped: 'released twice; acted on once' } } as unknown as T;
        return writes(tx);
      });
    };
    // A view of ctx whose commits go through the hold; everything else (signal, log, deps) is ctx's own.
    const guarded: StepContext = Object.create(ctx, {
      commit: { value: commit },
      commitStatement: {
        value: <T extends StepOutput | void>(statement: Statement, output?: T) => commit(async (tx) => (await tx.query(statement.text, statement.values), output as T)),
      },
    });
    const out = await handle(msg, guarded);
    // The handler decided not to act (state moved on, nothing new): the held message is done with too.
    if (released && !committed) await takeHeld(ctx.deps.db, msg.scope, ctx.step, msg.id);
    return out;
  };
}
