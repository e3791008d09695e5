// One webhook POST against a local server: bounded in time and in what it reads, no
// redirect followed, and no connection to an address that is not allowed, literal or resolved.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PermanentError, TransientError } from '../../../shared/contract/errors.ts';
import { parseAllowNets } from '../../../shared/notify/address.ts';
import { MAX_RESPONSE_BYTES, postWebhook } from '../../../shared/notify/send.ts';

let server: Server;
let base: string;
const hits: { path: string; headers: Record<string, unknown>; body: string }[] = [];
beforeAll(async () => {
  server = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      hits.push({ path: req.url!, headers: req.headers, body });
      if (req.url === '/slow') return void setTimeout(() => res.end('late'), 2_000);
      if (req.url === '/redirect') return void res.writeHead(302, { location: `${base}/target` }).end();
      if (req.url === '/huge') {
        res.writeHead(200);
        // 1 MB answered: only the start is read.
        for (let i = 0; i < 256; i++) res.write('x'.repeat(4096));
        return void res.end();
      }
      res.writeHead(200).end('ok');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

const allow = parseAllowNets('127.0.0.1/32');
const post = (path: string, over: Partial<Parameters<typeof postWebhook>[0]> = {}) =>
  postWebhook({ url: `${base}${path}`, body: '{"a":1}', headers: { 'x-swarm-event': 'review.requested' }, timeoutMs: 1_000, allow, ...over });

describe('postWebhook', () => {
  it('sends the body and headers as JSON', async () => {
    expect(await post('/ok')).toEqual({ status: 200, body: 'ok' });
    const hit = hits.at(-1)!;
    expect(hit.body).toBe('{"a":1}');
    expect(hit.headers['content-type']).toBe('application/json');
    expect(hit.headers['x-swarm-event']).toBe('review.requested');
  });

  it('gives up after its timeout, as a transient failure', async () => {
    const t0 = Date.now();
    const err = await post('/slow', { timeoutMs: 300 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TransientError);
    expect((err as TransientError).code).toBe('webhook_timeout');
    expect(Date.now() - t0).toBeLessThan(1_500);
  });

  it('does not follow a redirect', async () => {
    const before = hits.filter((h) => h.path === '/target').length;
    expect((await post('/redirect')).status).toBe(302);
    expect(hits.filter((h) => h.path === '/target').length).toBe(before);
  });

  it('reads at most a few KB of the answer', async () => {
    const res = await post('/huge');
    expect(res.status).toBe(200);
    expect(res.body.length).toBeLessThanOrEqual(MAX_RESPONSE_BYTES);
  });

  it('refuses a loopback address not allowed, literal or behind a name, before any request', async () => {
    const n = hits.length;
    const none = parseAllowNets('');
    const literal = await post('/ok', { allow: none }).catch((e: unknown) => e);
    expect(literal).toBeInstanceOf(PermanentError);
    expect((literal as PermanentError).code).toBe('webhook_address_refused');
    const port = new URL(base).port;
    const named = await post('', { url: `http://localhost:${port}/ok`, allow: none }).catch((e: unknown) => e);
    expect(named).toBeInstanceOf(PermanentError);
    expect((named as PermanentError).code).toBe('webhook_address_refused');
    expect(hits.length).toBe(n);
  });

  it('a receiver that is down is a transient outage', async () => {
    const err = await post('', { url: 'http://127.0.0.1:9/' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TransientError);
    expect((err as TransientError).code).toBe('ECONNREFUSED');
    expect((err as TransientError).retryKind).toBe('outage');
  });
});
