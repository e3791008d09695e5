// Which swarm messages are notifications, and what a receiver is told about them.
// Pure: no I/O. A receiver gets ids, outcomes and figures, never a document's text,
// a reviewer's note or anything secret.
import type { z } from 'zod';
import { NotificationDeliver, type Payload } from '../contract/messages.ts';

export type NotifyEvent = z.infer<typeof NotificationDeliver>['event'];
export const NOTIFY_EVENTS = NotificationDeliver.shape.event.options as readonly NotifyEvent[];
export type NotifyData = z.infer<typeof NotificationDeliver>['data'];

/** The message types the notifier consumes to fan out. */
export const SOURCE_TYPES = ['review.requested', 'review.escalated', 'review.responded', 'finality.decided'] as const;
export type SourceType = (typeof SOURCE_TYPES)[number];

export interface Notification {
  /**
   * The events this message stands for, most specific first. A webhook gets ONE
   * delivery per message: the first of these its filter accepts (an EXPIRED scope is
   * certified too: a webhook for both hears scope.expired, with the certificate id).
   */
  events: NotifyEvent[];
  data: NotifyData;
}

const cut = (s: string | undefined, n = 300) => (s === undefined ? null : s.slice(0, n));

export function notificationOf<T extends SourceType>(type: T, payload: Payload<T>): Notification | undefined {
  switch (type) {
    case 'review.requested': {
      const p = payload as Payload<'review.requested'>;
      // The reason is the rules' or the evaluator's wording (e.g. "critical drift"), not document text.
      return { events: ['review.requested'], data: { review_id: p.review_id, kind: p.kind, reason: cut(p.reason) } };
    }
    case 'review.escalated': {
      const p = payload as Payload<'review.escalated'>;
      return { events: ['review.escalated'], data: { review_id: p.review_id, kind: p.kind, action: p.action, escalated_to: p.escalated_to ?? null, deadline: p.deadline } };
    }
    case 'review.responded': {
      const p = payload as Payload<'review.responded'>;
      // Not the note: free text a reviewer wrote for the swarm, not for every receiver.
      return { events: ['review.responded'], data: { review_id: p.review_id, kind: p.kind, option: p.option, responder: p.responder, ...(p.days ? { days: p.days } : {}) } };
    }
    case 'finality.decided': {
      const p = payload as Payload<'finality.decided'>;
      const events: NotifyEvent[] = [];
      if (p.outcome === 'EXPIRED') events.push('scope.expired');
      if (p.outcome === 'BLOCKED') events.push('scope.blocked');
      if (p.certificate_id) events.push('certificate.issued');
      if (!events.length) return undefined; // ACTIVE / REVIEW rounds: nothing to tell
      return {
        events,
        data: { outcome: p.outcome, round: p.round, goal_score: p.goal_score, lyapunov_v: p.lyapunov_v, certificate_id: p.certificate_id, review_id: p.review_id },
      };
    }
    default:
      return undefined;
  }
}

/** The event a webhook with this filter is sent for this notification, if any. */
export function eventFor(n: Notification, filter: readonly NotifyEvent[]): NotifyEvent | undefined {
  return n.events.find((e) => filter.includes(e));
}

/** The delivery id (X-Swarm-Delivery): the same event and webhook always give the same id. */
export const deliveryId = (eventMessageId: string, webhookRef: string) => `notify:${eventMessageId}:${webhookRef}`;
