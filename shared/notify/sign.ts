// The signature of a webhook request, Stripe-like:
//   X-Swarm-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<raw body>")>
// The timestamp is signed with the body, so a captured request cannot be replayed
// outside the receiver's tolerance window; the delivery id (X-Swarm-Delivery) lets it
// drop a replay inside it.
import { createHmac, timingSafeEqual } from 'node:crypto';

export const hmac = (secret: string, t: number, body: string) => createHmac('sha256', secret).update(`${t}.${body}`, 'utf8').digest('hex');

export function signatureHeader(secret: string, body: string, now: number = Date.now()): string {
  const t = Math.floor(now / 1000);
  return `t=${t},v1=${hmac(secret, t, body)}`;
}

/** What a receiver does (the README's snippet is this function): true if signed with `secret` within `toleranceS`. */
export function verifySignature(header: string, body: string, secret: string, opts: { toleranceS?: number; now?: number } = {}): boolean {
  const parts = Object.fromEntries(header.split(',').map((kv) => kv.split('=', 2) as [string, string]));
  const t = Number(parts.t);
  if (!Number.isInteger(t) || !parts.v1 || !/^[0-9a-f]{64}$/.test(parts.v1)) return false;
  if (Math.abs((opts.now ?? Date.now()) / 1000 - t) > (opts.toleranceS ?? 300)) return false;
  return timingSafeEqual(Buffer.from(parts.v1, 'hex'), Buffer.from(hmac(secret, t, body), 'hex'));
}
