// The pure parts of notifications: which events a message stands for, the filter,
// the bodies, the signature, the configuration and where a webhook may send.
import { createHmac, timingSafeEqual } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadEnv } from '../../../shared/config.ts';
import { PermanentError, TransientError } from '../../../shared/contract/errors.ts';
import { addressAllowed, parseAllowNets, refusedDestination } from '../../../shared/notify/address.ts';
import { consoleLink, renderBody, type Outgoing } from '../../../shared/notify/body.ts';
import { NOTIFY_EVENTS, deliveryId, eventFor, notificationOf } from '../../../shared/notify/events.ts';
import { MAX_RETRY_AFTER_MS, retryAfterMs, statusOutcome } from '../../../shared/notify/send.ts';
import { signatureHeader, verifySignature } from '../../../shared/notify/sign.ts';
import { GlobalWebhook, WebhookInput, parseGlobalWebhooks } from '../../../shared/notify/webhook.ts';

const SECRET = 'whsec_0123456789abcdefghijklmnop';
const finality = (outcome: string, certificate_id: string | null) =>
  notificationOf('finality.decided', { round: 3, outcome: outcome as 'ACTIVE', goal_score: 0.7, lyapunov_v: 0.2, certificate_id, review_id: null });

describe('events', () => {
  it('maps finality decisions to the events a receiver asked for, and ignores ordinary rounds', () => {
    expect(finality('ACTIVE', null)).toBeUndefined();
    expect(finality('REVIEW', null)).toBeUndefined();
    expect(finality('RESOLVED', 'c1')!.events).toEqual(['certificate.issued']);
    expect(finality('BLOCKED', null)!.events).toEqual(['scope.blocked']);
    // An expired scope is certified too: one delivery per webhook, the most specific event its filter takes.
    const expired = finality('EXPIRED', 'c2')!;
    expect(expired.events).toEqual(['scope.expired', 'certificate.issued']);
    expect(eventFor(expired, ['certificate.issued'])).toBe('certificate.issued');
    expect(eventFor(expired, [...NOTIFY_EVENTS])).toBe('scope.expired');
    expect(eventFor(expired, ['review.requested'])).toBeUndefined();
    expect(expired.data.certificate_id).toBe('c2');
  });

  it("does not pass a reviewer's note on", () => {
    const n = notificationOf('review.responded', { review_id: 'r1', kind: 'governance_review', option: 'reject', note: 'confidential remark', responder: 'user:operator', access_id: 7 })!;
    expect(n.events).toEqual(['review.responded']);
    expect(JSON.stringify(n)).not.toContain('confidential');
    expect(n.data).toMatchObject({ review_id: 'r1', option: 'reject', responder: 'user:operator' });
  });

  it('names deliveries by event message and webhook', () => {
    expect(deliveryId('governance:abc', 'scope:ops')).toBe('notify:governance:abc:scope:ops');
    expect(deliveryId('governance:abc', 'scope:ops')).not.toBe(deliveryId('governance:abc', 'global:ops'));
  });
});

describe('bodies', () => {
  const out: Outgoing = { id: 'notify:x:scope:a', event: 'review.requested', scope: 'acme', occurred_at: '2026-01-01T00:00:00.000Z', data: { review_id: 'r<1>', kind: 'governance_review', reason: 'drift & more' } };

  it('json: the event, its data and a link to the scope in the console', () => {
    const b = JSON.parse(renderBody('json', out, 'https://swarm.example.com/'));
    expect(b).toEqual({ ...out, links: { console: 'https://swarm.example.com/ui/#/scopes/acme' } });
    expect(JSON.parse(renderBody('json', out, '')).links).toEqual({});
  });

  it('slack: one line of text, escaped for mrkdwn, with the link', () => {
    const b = JSON.parse(renderBody('slack', out, 'https://swarm.example.com'));
    expect(Object.keys(b)).toEqual(['text']);
    expect(b.text).toBe(`[acme] A governance review is waiting: r&lt;1&gt; (drift &amp; more) <${consoleLink('https://swarm.example.com', 'acme')}|open in the console>`);
  });
});

describe('signature', () => {
  const body = '{"id":"x"}';

  it('is HMAC-SHA256 of "<t>.<body>", verified within the tolerance only', () => {
    const now = 1_760_000_000_000;
    const header = signatureHeader(SECRET, body, now);
    const m = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(header)!;
    expect(Number(m[1])).toBe(now / 1000);
    // What a receiver in any language computes.
    const expected = createHmac('sha256', SECRET).update(`${m[1]}.${body}`).digest();
    expect(timingSafeEqual(Buffer.from(m[2]!, 'hex'), expected)).toBe(true);

    expect(verifySignature(header, body, SECRET, { now })).toBe(true);
    expect(verifySignature(header, body + ' ', SECRET, { now })).toBe(false);
    expect(verifySignature(header, body, SECRET + 'x', { now })).toBe(false);
    expect(verifySignature(header, body, SECRET, { now: now + 301_000 })).toBe(false);
    expect(verifySignature(header.replace(/t=\d+/, `t=${now / 1000 + 1}`), body, SECRET, { now })).toBe(false);
    expect(verifySignature('v1=abc', body, SECRET, { now })).toBe(false);
  });
});

describe('configuration', () => {
  it('refuses what a webhook must not be', () => {
    const bad: [unknown, RegExp][] = [
      [{ url: 'ftp://example.com/x' }, /http or https only/],
      [{ url: 'file:///etc/passwd' }, /http or https only/],
      [{ url: 'https://user:pw@example.com/' }, /credentials/],
      [{ url: 'https://example.com/' + 'a'.repeat(2_001) }, /at most 2000/],
      [{ url: 'https://example.com/', events: ['review.requested', 'review.requested'] }, /twice/],
      [{ url: 'https://example.com/', events: ['doc.submitted'] }, /./],
      [{ url: 'https://example.com/', secret: 'short' }, /at least 24/],
      [{ url: 'https://example.com/', extra: 1 }, /./],
    ];
    for (const [input, message] of bad) {
      const r = WebhookInput.safeParse(input);
      expect(r.success, JSON.stringify(input).slice(0, 80)).toBe(false);
      expect(r.error!.issues.map((i) => i.message).join('; ')).toMatch(message);
    }
    expect(WebhookInput.parse({ url: 'https://example.com/hook' })).toEqual({ url: 'https://example.com/hook', events: [...NOTIFY_EVENTS], format: 'json' });
    expect(GlobalWebhook.safeParse({ id: 'ops', url: 'https://example.com/hook' }).success).toBe(false); // a global one needs its secret
  });

  it('WEBHOOKS is checked at start, naming the variable and the field', () => {
    const ok = JSON.stringify([{ id: 'ops', url: 'https://hooks.example.com/a', format: 'slack', events: ['review.requested'], secret: SECRET }]);
    expect(parseGlobalWebhooks(ok)).toHaveLength(1);
    expect(parseGlobalWebhooks('')).toEqual([]);
    expect(() => loadEnv({ GSWARM_HOME: '/nonexistent', WEBHOOKS: '[{' })).toThrow(/WEBHOOKS: not JSON/);
    const dup = JSON.stringify([JSON.parse(ok)[0], JSON.parse(ok)[0]]);
    expect(() => loadEnv({ GSWARM_HOME: '/nonexistent', WEBHOOKS: dup })).toThrow(/WEBHOOKS: .*same id/);
    try {
      loadEnv({ GSWARM_HOME: '/nonexistent', WEBHOOKS: JSON.stringify([{ id: 'ops', url: 'gopher://x', secret: SECRET }]) });
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      expect((err as Error).message).toMatch(/WEBHOOKS: 0\.url: url: scheme gopher refused/);
    }
    expect(() => loadEnv({ GSWARM_HOME: '/nonexistent', WEBHOOK_ALLOW_NETS: '127.0.0.1/33' })).toThrow(/WEBHOOK_ALLOW_NETS: .*bad prefix/);
    // The value holds signing secrets: the error names the problem, never echoes it.
    const leaky = JSON.stringify([{ id: 'ops', url: 'https://hooks.example.com/a', secret: SECRET, format: 'xml' }]);
    expect(() => loadEnv({ GSWARM_HOME: '/nonexistent', WEBHOOKS: leaky })).toThrow(/WEBHOOKS: 0\.format: .*value not shown/);
    expect(() => loadEnv({ GSWARM_HOME: '/nonexistent', WEBHOOKS: leaky })).not.toThrow(new RegExp(SECRET));
  });
});

describe('where a webhook may send', () => {
  const none = parseAllowNets('');

  it('refuses loopback, private, link-local (cloud metadata), shared and reserved addresses', () => {
    for (const ip of ['127.0.0.1', '127.8.9.10', '10.1.2.3', '172.16.0.1', '192.168.1.1', '169.254.169.254', '100.64.0.1', '0.0.0.0', '224.0.0.1', '255.255.255.255', '::1', '::', 'fd00::1', 'fe80::1', '::ffff:127.0.0.1', '::ffff:10.0.0.1', '64:ff9b::a00:1']) {
      expect(addressAllowed(ip, none), ip).toBe(false);
    }
    for (const ip of ['93.184.216.34', '8.8.8.8', '2606:4700:4700::1111', '::ffff:8.8.8.8']) expect(addressAllowed(ip, none), ip).toBe(true);
    expect(addressAllowed('not-an-ip', none)).toBe(false);
  });

  it('lets WEBHOOK_ALLOW_NETS open exactly what it lists', () => {
    const allow = parseAllowNets('127.0.0.1/32, 10.20.0.0/16, ::1');
    expect(addressAllowed('127.0.0.1', allow)).toBe(true);
    expect(addressAllowed('127.0.0.2', allow)).toBe(false);
    expect(addressAllowed('10.20.5.5', allow)).toBe(true);
    expect(addressAllowed('10.21.0.1', allow)).toBe(false);
    expect(addressAllowed('::1', allow)).toBe(true);
    expect(() => parseAllowNets('localhost')).toThrow(/not an IP/);
  });

  it('checks what a name resolves to, not only literal addresses', async () => {
    const resolvesTo = (ip: string) => async () => [{ address: ip, family: ip.includes(':') ? 6 : 4 }];
    expect(await refusedDestination('http://internal.example/', none, resolvesTo('10.0.0.5'))).toMatch(/internal\.example is 10\.0\.0\.5, not a public address/);
    expect(await refusedDestination('http://hooks.example/', none, resolvesTo('93.184.216.34'))).toBeUndefined();
    expect(await refusedDestination('http://[::1]:8080/', none)).toMatch(/::1/);
    expect(await refusedDestination('http://169.254.169.254/latest/meta-data', none)).toMatch(/169\.254\.169\.254/);
    expect(await refusedDestination('http://127.0.0.1:9/', parseAllowNets('127.0.0.1'))).toBeUndefined();
    // Other spellings of loopback are normalised by the URL parser first.
    for (const url of ['http://2130706433/', 'http://0x7f000001/', 'http://0177.0.0.1/', 'http://127.1/', 'http://[::ffff:127.0.0.1]/']) {
      expect(await refusedDestination(url, none), url).toMatch(/not a public address/);
    }
    // A resolver that never answers does not hold the request (the connection is checked anyway).
    expect(await refusedDestination('http://slow.example/', none, () => new Promise(() => {}))).toBeUndefined();
  });
});

describe('what a status means', () => {
  it('2xx delivered; 408, 429, 5xx retried; other 4xx and redirects permanent', () => {
    expect(statusOutcome(200, 'o')).toBe('delivered');
    expect(statusOutcome(204, 'o')).toBe('delivered');
    for (const s of [408, 429, 500, 502, 503]) expect(statusOutcome(s, 'o'), String(s)).toBeInstanceOf(TransientError);
    expect((statusOutcome(503, 'o') as TransientError).retryKind).toBe('outage');
    for (const s of [301, 302, 400, 401, 404, 410, 413]) expect(statusOutcome(s, 'o'), String(s)).toBeInstanceOf(PermanentError);
  });

  it("a retried delivery waits at least the receiver's Retry-After (seconds or a date), capped at an hour", () => {
    const now = Date.parse('2026-12-01T10:00:00Z');
    expect(retryAfterMs('120', now)).toBe(120_000);
    expect(retryAfterMs('Tue, 01 Dec 2026 10:00:30 GMT', now)).toBe(30_000);
    expect(retryAfterMs('Tue, 01 Dec 2026 09:00:00 GMT', now)).toBe(0);
    expect(retryAfterMs('999999999', now)).toBe(MAX_RETRY_AFTER_MS);
    for (const bad of [undefined, '', 'soon', '-5', '1.5']) expect(retryAfterMs(bad, now), String(bad)).toBeUndefined();
    expect((statusOutcome(429, 'o', '2', now) as TransientError).retryAfterMs).toBe(2_000);
    expect((statusOutcome(503, 'o', undefined, now) as TransientError).retryAfterMs).toBeUndefined();
  });
});

describe("the README's verification snippet", () => {
  it('accepts what the notifier signs and refuses a changed body or an old timestamp', async () => {
    const { readFileSync } = await import('node:fs');
    const readme = readFileSync(new URL('../../../README.md', import.meta.url), 'utf8');
    const code = /Verifying it[^\n]*\n\n```js\n([\s\S]*?)```/.exec(readme)![1]!.replace(/^import .*$/m, '');
    const verify = new Function('createHmac', 'timingSafeEqual', `${code}\nreturn verify;`)(createHmac, timingSafeEqual) as (h: string, b: string, s: string, tol?: number) => boolean;
    const body = '{"id":"notify:x:scope:a","event":"review.requested"}';
    expect(verify(signatureHeader(SECRET, body), body, SECRET)).toBe(true);
    expect(verify(signatureHeader(SECRET, body), body.replace('x', 'y'), SECRET)).toBe(false);
    expect(verify(signatureHeader(SECRET, body, Date.now() - 600_000), body, SECRET)).toBe(false);
  });
});
