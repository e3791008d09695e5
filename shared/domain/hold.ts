// An operator's hold on a scope (pause, resume, close): which changes are allowed from
// which hold, and what the answer is. Pure; the API and its tests use it.
import { createHash } from 'node:crypto';

export const HOLDS = ['paused', 'closed'] as const;
export type Hold = (typeof HOLDS)[number];
export const HOLD_ACTIONS = ['pause', 'resume', 'close'] as const;
export type HoldAction = (typeof HOLD_ACTIONS)[number];

export type HoldChange =
  | { ok: true; hold: Hold | null; changed: boolean }
  | { ok: false; code: 'scope_closed'; message: string };

/**
 * The hold after `action`. Pause and resume are idempotent (unchanged, still ok); so is
 * close. A closed scope stays closed: pausing or resuming it is refused.
 */
export function nextHold(current: Hold | null, action: HoldAction): HoldChange {
  if (current === 'closed' && action !== 'close') {
    return { ok: false, code: 'scope_closed', message: `the scope is closed: it cannot be ${action === 'pause' ? 'paused' : 'resumed'}` };
  }
  const hold: Hold | null = action === 'pause' ? 'paused' : action === 'close' ? 'closed' : null;
  return { ok: true, hold, changed: hold !== current };
}

/** Context-log kind and decision-record action of each change. */
export const HOLD_EVENT = { pause: 'scope_paused', resume: 'scope_resumed', close: 'scope_closed' } as const satisfies Record<HoldAction, string>;
export const HOLD_DECISION = { pause: 'pause_scope', resume: 'resume_scope', close: 'close_scope' } as const satisfies Record<HoldAction, string>;

/**
 * The id of the message releasing one held message, at the scope's n-th release: the same
 * for a retried publish (JetStream drops it), another for a later resume (never dropped).
 */
export function releaseId(scope: string, consumer: string, messageId: string, n: number): string {
  const digest = createHash('sha256').update([scope, consumer, messageId].join('\u0000'), 'utf8').digest('base64url').slice(0, 22);
  return `release:${consumer}:${digest}:${n}`;
}
