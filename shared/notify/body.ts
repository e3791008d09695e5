// The request body a receiver gets: JSON (ours), or Slack's incoming-webhook shape
// `{ text }`. Both are signed the same way.
import type { NotifyData, NotifyEvent } from './events.ts';
import type { WebhookFormat } from './webhook.ts';

export interface Outgoing {
  /** The delivery id (also X-Swarm-Delivery). */
  id: string;
  event: NotifyEvent;
  scope: string;
  occurred_at: string;
  data: NotifyData;
}

/** Where the console shows the scope (its hash route), when API_PUBLIC_URL is set. */
export const consoleLink = (publicUrl: string, scope: string) => `${publicUrl.replace(/\/+$/, '')}/ui/#/scopes/${encodeURIComponent(scope)}`;

export function renderBody(format: WebhookFormat, n: Outgoing, publicUrl: string): string {
  const link = publicUrl ? consoleLink(publicUrl, n.scope) : null;
  if (format === 'json') return JSON.stringify({ ...n, links: link ? { console: link } : {} });
  const line = summary(n);
  // Slack mrkdwn: <url|label>; & < > are the characters it wants escaped.
  const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
  return JSON.stringify({ text: esc(line) + (link ? ` <${link}|open in the console>` : '') });
}

/** One line a person can read. */
export function summary(n: Outgoing): string {
  const d = n.data;
  const kind = d.kind === 'finality_review' ? 'finality review' : 'governance review';
  switch (n.event) {
    case 'review.requested':
      return `[${n.scope}] A ${kind} is waiting: ${d.review_id}${d.reason ? ` (${d.reason})` : ''}`;
    case 'review.escalated':
      return d.action === 'escalate'
        ? `[${n.scope}] The ${kind} ${d.review_id} was not answered by ${d.deadline}: escalated to ${d.escalated_to ?? '?'}`
        : `[${n.scope}] The ${kind} ${d.review_id} was not answered by ${d.deadline}: fail-safe ${d.action} applied`;
    case 'review.responded':
      return `[${n.scope}] ${d.responder} answered the ${kind} ${d.review_id}: ${d.option}`;
    case 'certificate.issued':
      return `[${n.scope}] Certificate ${d.certificate_id} issued (${d.outcome}, goal score ${Number(d.goal_score).toFixed(2)})`;
    case 'scope.blocked':
      return `[${n.scope}] The scope is BLOCKED (goal score ${Number(d.goal_score).toFixed(2)})`;
    case 'scope.expired':
      return `[${n.scope}] The scope EXPIRED${d.certificate_id ? `, certificate ${d.certificate_id}` : ''}`;
  }
}
