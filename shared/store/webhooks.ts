// A scope's webhooks (migration 018) and the record of delivered notifications.
import type { NotifyEvent } from '../notify/events.ts';
import type { Webhook, WebhookFormat } from '../notify/webhook.ts';
import type { Queryable } from './db.ts';

export interface ScopeWebhook {
  scope: string;
  id: string;
  url: string;
  events: NotifyEvent[];
  format: WebhookFormat;
  createdBy: string;
  createdAt: Date;
  updatedAt: Date;
}

interface Row {
  scope_id: string;
  webhook_id: string;
  url: string;
  events: NotifyEvent[];
  format: WebhookFormat;
  secret: string;
  created_by: string;
  created_at: Date;
  updated_at: Date;
}

const COLS = 'scope_id, webhook_id, url, events, format, created_by, created_at, updated_at';
const toWebhook = (r: Omit<Row, 'secret'>): ScopeWebhook => ({
  scope: r.scope_id,
  id: r.webhook_id,
  url: r.url,
  events: r.events,
  format: r.format,
  createdBy: r.created_by,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
});

/** Without secrets: what the API shows. */
export async function listWebhooks(q: Queryable, scope: string): Promise<ScopeWebhook[]> {
  const { rows } = await q.query<Row>(`SELECT ${COLS} FROM webhooks WHERE scope_id = $1 ORDER BY webhook_id`, [scope]);
  return rows.map(toWebhook);
}

export async function getWebhook(q: Queryable, scope: string, id: string): Promise<ScopeWebhook | undefined> {
  const { rows } = await q.query<Row>(`SELECT ${COLS} FROM webhooks WHERE scope_id = $1 AND webhook_id = $2`, [scope, id]);
  return rows[0] ? toWebhook(rows[0]) : undefined;
}

/**
 * Create or replace. `secret` null keeps the stored one (a replace need not send it
 * again); a new webhook must have one. Refused past `max` webhooks in the scope (the
 * scope's row is locked so that two creations cannot both pass the count).
 */
export async function putWebhook(
  tx: Queryable,
  w: { scope: string; id: string; url: string; events: NotifyEvent[]; format: WebhookFormat; secret: string | null; by: string },
  max: number,
): Promise<{ created: boolean; webhook: ScopeWebhook } | { tooMany: true }> {
  await tx.query('SELECT 1 FROM scopes WHERE scope_id = $1 FOR UPDATE', [w.scope]);
  const existing = await getWebhook(tx, w.scope, w.id);
  if (!existing) {
    const { rows } = await tx.query<{ n: string }>('SELECT count(*) AS n FROM webhooks WHERE scope_id = $1', [w.scope]);
    if (Number(rows[0]!.n) >= max) return { tooMany: true };
    if (w.secret === null) throw new Error('a new webhook needs a secret');
  }
  const { rows } = existing
    ? await tx.query<Row>(
        `UPDATE webhooks SET url = $3, events = $4, format = $5, secret = COALESCE($6, secret), updated_at = now()
         WHERE scope_id = $1 AND webhook_id = $2 RETURNING ${COLS}`,
        [w.scope, w.id, w.url, w.events, w.format, w.secret],
      )
    : await tx.query<Row>(
        `INSERT INTO webhooks (scope_id, webhook_id, url, events, format, secret, created_by) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING ${COLS}`,
        [w.scope, w.id, w.url, w.events, w.format, w.secret, w.by],
      );
  return { created: !existing, webhook: toWebhook(rows[0]!) };
}

export async function deleteWebhook(q: Queryable, scope: string, id: string): Promise<boolean> {
  const { rowCount } = await q.query('DELETE FROM webhooks WHERE scope_id = $1 AND webhook_id = $2', [scope, id]);
  return (rowCount ?? 0) > 0;
}

/** The scope's webhooks with their secrets: for the notifier only. */
export async function scopeWebhooksForSending(q: Queryable, scope: string): Promise<Webhook[]> {
  const { rows } = await q.query<Row>('SELECT webhook_id, url, events, format, secret FROM webhooks WHERE scope_id = $1', [scope]);
  return rows.map((r) => ({ ref: `scope:${r.webhook_id}`, url: r.url, events: r.events, format: r.format, secret: r.secret }));
}

export async function recordDelivery(
  tx: Queryable,
  d: { deliveryId: string; scope: string; webhook: string; event: string; status: number; attempt: number },
): Promise<void> {
  await tx.query(
    `INSERT INTO webhook_deliveries (delivery_id, scope_id, webhook, event, status_code, attempt) VALUES ($1, $2, $3, $4, $5, $6)
     ON CONFLICT (delivery_id) DO NOTHING`,
    [d.deliveryId, d.scope, d.webhook, d.event, d.status, d.attempt],
  );
}
