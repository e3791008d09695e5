// A webhook's configuration, validated at every edge: the WEBHOOKS variable (global
// webhooks) and the API's PUT /v1/scopes/{scope}/webhooks/{id} (a scope's own).
import { z } from 'zod';
import { NOTIFY_EVENTS, type NotifyEvent } from './events.ts';

export const MAX_URL_CHARS = 2_000;
/** A scope's webhooks; more is refused (each event is sent to each of them). */
export const MAX_SCOPE_WEBHOOKS = 20;
export const MAX_GLOBAL_WEBHOOKS = 50;

export const WebhookId = z.string().regex(/^[a-z0-9][a-z0-9_-]{0,63}$/, 'webhook id: 1-64 chars of a-z, 0-9, "_" or "-", starting with a letter or digit');
export const WebhookFormat = z.enum(['json', 'slack']);
export type WebhookFormat = z.infer<typeof WebhookFormat>;
/** A given secret must be worth an HMAC key: at least 24 characters. */
export const WebhookSecret = z.string().min(24, 'secret: at least 24 characters').max(200, 'secret: at most 200 characters').regex(/^[\x21-\x7e]+$/, 'secret: printable ASCII, no spaces');

/** http(s) only, no user:password@ (it would travel in every request and in logs), no fragment. */
export const WebhookUrl = z
  .string()
  .max(MAX_URL_CHARS, `url: at most ${MAX_URL_CHARS} characters`)
  .superRefine((v, ctx) => {
    let u: URL;
    try {
      u = new URL(v);
    } catch {
      ctx.addIssue({ code: 'custom', message: 'url: not a URL' });
      return;
    }
    if (u.protocol !== 'http:' && u.protocol !== 'https:') ctx.addIssue({ code: 'custom', message: `url: scheme ${u.protocol.replace(/:$/, '')} refused; http or https only` });
    if (u.username || u.password) ctx.addIssue({ code: 'custom', message: 'url: credentials in the URL are refused; the request is signed instead' });
    if (u.hash) ctx.addIssue({ code: 'custom', message: 'url: a fragment is never sent; leave it out' });
  });

const Events = z
  .array(z.enum(NOTIFY_EVENTS as [NotifyEvent, ...NotifyEvent[]]))
  .min(1)
  .max(NOTIFY_EVENTS.length)
  .refine((a) => new Set(a).size === a.length, 'events: listed twice');

/** What a client sends for a scope's webhook. A missing secret is generated (and shown once). */
export const WebhookInput = z.strictObject({
  url: WebhookUrl,
  events: Events.default([...NOTIFY_EVENTS]),
  format: WebhookFormat.default('json'),
  secret: WebhookSecret.optional(),
});
export type WebhookInput = z.infer<typeof WebhookInput>;

/** One global webhook in WEBHOOKS: the same fields, with its id and secret required. */
export const GlobalWebhook = WebhookInput.extend({ id: WebhookId, secret: WebhookSecret });
export type GlobalWebhook = z.infer<typeof GlobalWebhook>;

export const GlobalWebhooks = z
  .array(GlobalWebhook)
  .max(MAX_GLOBAL_WEBHOOKS)
  .refine((a) => new Set(a.map((w) => w.id)).size === a.length, 'two webhooks with the same id');

/** WEBHOOKS: a JSON array (empty string = none). Throws a readable message. */
export function parseGlobalWebhooks(text: string): GlobalWebhook[] {
  if (!text.trim()) return [];
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new Error(`not JSON: ${(err as Error).message}`);
  }
  const r = GlobalWebhooks.safeParse(json);
  if (!r.success) throw new Error(r.error.issues.map((i) => `${i.path.join('.') || '(list)'}: ${i.message}`).join('; '));
  return r.data;
}

/** A webhook as the sender needs it. */
export interface Webhook {
  /** global:<id> or scope:<id> */
  ref: string;
  url: string;
  events: NotifyEvent[];
  format: WebhookFormat;
  secret: string;
}
