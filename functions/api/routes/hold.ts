// Pause, resume, close a scope (an operator's hold; shared/store/hold.ts, shared/swarm/hold.ts).
// Each change is one transaction (the hold, a context-log event, a decision record); a
// resume then publishes one hold.released per held message, naming it, to the step that
// held it. A publish that fails leaves those messages held: resuming again releases them,
// and so does the bridge's next tick (infra/bridge/ticker.ts), under the same message ids.
import { createRoute } from '@hono/zod-openapi';
import type { HoldAction } from '../../../shared/domain/hold.ts';
import { releaseId } from '../../../shared/domain/hold.ts';
import type { Envelope } from '../../../shared/contract/envelope.ts';
import { HoldReleased, ScopeHoldChanged } from '../../../shared/contract/messages.ts';
import { ScopeNotFoundError } from '../../../shared/store/db.ts';
import { changeHold } from '../../../shared/store/hold.ts';
import { authorize, type Routes } from '../context.ts';
import { ApiError, scopeNotFound } from '../errors.ts';
import { bearer, errors, json } from '../openapi.ts';
import { publish, SOURCE } from '../publish.ts';
import { HoldBody, HoldState, ScopeParam } from '../schemas.ts';

const WHAT: Record<HoldAction, string> = {
  pause:
    "Pause: the scope still accepts documents (they are read and stored), but its steps hold what they receive — no state advance, no finality evaluation or certificate, no proposal applied — until it is resumed. Idempotent: pausing a paused scope changes nothing (changed: false). A closed scope cannot be paused (409 scope_closed).",
  resume:
    'Resume: the held messages are released to the steps that held them, and the scope goes on where it stopped. Idempotent; resuming again also releases whatever is still held (after a failed publish), as does the bridge’s timer within a tick. A closed scope cannot be resumed (409 scope_closed).',
  close:
    'Close: the scope takes no more documents or review answers (409 scope_closed) and its steps do nothing further; its pending reviews are superseded (reason "scope closed"); its history and certificates can still be read. Final; idempotent.',
};

const route = (action: HoldAction) =>
  createRoute({
    method: 'post',
    path: `/v1/scopes/{scope}/${action}`,
    summary: `${action[0]!.toUpperCase()}${action.slice(1)} a scope`,
    description: `${WHAT[action]} Recorded in the context log (event stream, timeline) and as a decision record with the reason. Permission: operator on the scope (a principal that cannot read it gets 404).`,
    tags: ['scopes'],
    security: bearer,
    request: { params: ScopeParam, body: { content: { 'application/json': { schema: HoldBody } }, required: false } },
    responses: { 200: json(HoldState, 'The scope’s hold after the request'), ...errors(400, 401, 403, 404, 409, 413, 415, 503) },
  });

export function holdRoutes(app: Routes['app'], r: Routes): void {
  for (const action of ['pause', 'resume', 'close'] as const) {
    app.openapi(route(action), async (c) => {
      const { scope } = c.req.valid('param');
      const { reason } = c.req.valid('json') ?? {};
      const principal = c.get('principal');
      const accessId = await authorize(r, c, { action: `scope.${action}`, relation: 'operator', object: `scope:${scope}`, scope, write: true });
      const out = await r.deps.db
        .transaction((tx) => changeHold(tx, r.policies, { scope, action, by: principal, accessId, ...(reason !== undefined ? { reason } : {}) }))
        .catch((err: unknown) => {
          if (err instanceof ScopeNotFoundError) throw scopeNotFound(scope);
          throw err;
        });
      if (!out.ok) throw new ApiError(409, out.refused.code, `scope "${scope}": ${out.refused.message}`);
      if (out.seq !== null) {
        // For the event stream: the change itself is durable already (context log, decision
        // record), so a bus failure here only costs open consoles a live refresh.
        const payload = ScopeHoldChanged.parse({ action, hold: out.state.hold, by: principal, seq: out.seq, ...(reason !== undefined ? { reason } : {}) });
        const env: Envelope = { id: `api:hold:${scope}:${out.seq}`, scope, type: 'scope.hold_changed', payload, attempt: 1, source: SOURCE, ts: new Date().toISOString() };
        await publish(r.deps.js, r.deps.env.NATS_SUBJECT_PREFIX, env).catch((err: unknown) => r.log.warn({ err, scope, action }, 'scope.hold_changed not published'));
      }
      let released = 0;
      if (out.release) {
        const ts = new Date().toISOString();
        for (const m of out.release.messages) {
          const payload = HoldReleased.parse({ consumer: m.consumer, message_id: m.messageId, release: out.release.n });
          const env: Envelope = { id: releaseId(scope, m.consumer, m.messageId, out.release.n), scope, type: 'hold.released', payload, attempt: 1, source: SOURCE, ts };
          // A failure is a 503 saying so; the messages stay held, and a second resume releases them.
          await publish(r.deps.js, r.deps.env.NATS_SUBJECT_PREFIX, env);
          released++;
        }
      }
      r.log.info({ scope, action, principal, changed: out.changed, released, superseded: out.superseded.length }, `scope ${action}`);
      return c.json(
        {
          scope,
          hold: out.state.hold,
          held_since: out.state.heldSince?.toISOString() ?? null,
          held_by: out.state.heldBy,
          changed: out.changed,
          released,
          superseded_reviews: out.superseded,
        },
        200,
      );
    });
  }
}
