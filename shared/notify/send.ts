// One POST to a webhook, bounded: a timeout over the whole exchange, no redirect
// followed, at most a few KB of the response read, a fresh connection whose address
// is checked (address.ts). The outcome is classified for the bridge: 2xx delivered;
// a network error, 408, 429 or 5xx transient (retried with backoff); any other
// status permanent (the request itself is wrong; retrying cannot help).
import http from 'node:http';
import https from 'node:https';
import type { BlockList } from 'node:net';
import { isIP } from 'node:net';
import { PermanentError, TransientError } from '../contract/errors.ts';
import { AddressRefused, addressAllowed, guardedLookup, hostOf } from './address.ts';

export const MAX_RESPONSE_BYTES = 4_096;

export interface PostOptions {
  url: string;
  body: string;
  headers: Record<string, string>;
  timeoutMs: number;
  allow: BlockList;
  signal?: AbortSignal;
}

/** POST; resolves with the status and the start of the response body, or rejects with a StepError. */
export function postWebhook(o: PostOptions): Promise<{ status: number; body: string; retryAfter?: string }> {
  const u = new URL(o.url);
  const host = hostOf(u);
  // A literal address is dialled without a lookup: check it here.
  if (isIP(host) && !addressAllowed(host, o.allow)) return Promise.reject(new PermanentError('webhook_address_refused', new AddressRefused(host, host).message));
  const mod = u.protocol === 'https:' ? https : http;
  return new Promise((resolve, reject) => {
    let done = false;
    const finish = (err: Error | undefined, value?: { status: number; body: string }) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      o.signal?.removeEventListener('abort', onAbort);
      if (err) reject(err);
      else resolve(value!);
    };
    const req = mod.request(
      u,
      {
        method: 'POST',
        headers: { ...o.headers, 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(o.body)), 'user-agent': 'governed-swarm-webhooks/1' },
        // No shared keep-alive socket: every request dials, so every request's address is checked.
        agent: false,
        lookup: guardedLookup(o.allow),
      },
      (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        const status = res.statusCode ?? 0;
        const retryAfter = res.headers['retry-after'];
        const end = () => {
          res.destroy();
          finish(undefined, { status, body: Buffer.concat(chunks).toString('utf8').slice(0, MAX_RESPONSE_BYTES), ...(typeof retryAfter === 'string' ? { retryAfter } : {}) });
        };
        res.on('data', (c: Buffer) => {
          if (size < MAX_RESPONSE_BYTES) chunks.push(c.subarray(0, MAX_RESPONSE_BYTES - size));
          size += c.length;
          // The status is what matters: stop reading a large body rather than buffer it.
          if (size >= MAX_RESPONSE_BYTES) end();
        });
        res.on('end', end);
        res.on('error', (err) => finish(transient(err)));
      },
    );
    const timer = setTimeout(() => {
      finish(new TransientError('webhook_timeout', `no answer from ${u.origin} within ${o.timeoutMs} ms`, { kind: 'outage' }));
      req.destroy();
    }, o.timeoutMs);
    const onAbort = () => {
      finish(new TransientError('cancelled', 'the step was stopped'));
      req.destroy();
    };
    if (o.signal?.aborted) onAbort();
    else o.signal?.addEventListener('abort', onAbort, { once: true });
    req.on('error', (err) => finish(err instanceof AddressRefused ? new PermanentError('webhook_address_refused', err.message) : transient(err)));
    req.end(o.body);
  });
}

function transient(err: Error): TransientError {
  const code = (err as { code?: string }).code;
  // Connection refused, reset, DNS failure: the receiver is down or unreachable for now.
  return new TransientError(code && /^E[A-Z]+$/.test(code) ? code : 'connection', `webhook request failed: ${err.message}`, { kind: 'outage', cause: err });
}

/** The longest Retry-After honoured: a receiver cannot park a delivery for longer (its attempts still count). */
export const MAX_RETRY_AFTER_MS = 3_600_000;

/** A Retry-After header (delay-seconds or an HTTP date) as ms from `now`, capped; undefined when absent or unreadable. */
export function retryAfterMs(header: string | undefined, now = Date.now()): number | undefined {
  if (header === undefined) return undefined;
  const v = header.trim();
  const ms = /^\d{1,10}$/.test(v) ? Number(v) * 1000 : /[a-z]/i.test(v) ? Date.parse(v) - now : Number.NaN;
  return Number.isFinite(ms) ? Math.min(Math.max(0, Math.round(ms)), MAX_RETRY_AFTER_MS) : undefined;
}

/** What a status means for the delivery; a retried one waits at least what the receiver's Retry-After asks. */
export function statusOutcome(status: number, origin: string, retryAfter?: string, now = Date.now()): 'delivered' | TransientError | PermanentError {
  if (status >= 200 && status < 300) return 'delivered';
  if (status === 408 || status === 429 || status >= 500) {
    const wait = retryAfterMs(retryAfter, now);
    return new TransientError(`http_${status}`, `${origin} answered ${status}${wait !== undefined ? ` (retry after ${Math.ceil(wait / 1000)} s)` : ''}`, wait !== undefined ? { retryAfterMs: wait } : undefined);
  }
  if (status >= 300 && status < 400) return new PermanentError(`webhook_http_${status}`, `${origin} answered ${status} (a redirect; webhooks do not follow them, configure the final URL)`);
  return new PermanentError(`webhook_http_${status}`, `${origin} answered ${status}; the request will not be sent again (replay it with npm run dlq once fixed)`);
}
