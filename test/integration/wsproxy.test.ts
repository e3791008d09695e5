// The Postgres WebSocket proxy (infra/wsproxy): it listens on loopback by default, and
// refuses an upgrade from a browser (one that carries an Origin header) unless that
// origin is allow-listed; the Neon driver, which sends none, still gets through to a
// real Postgres.
import type { AddressInfo, Server } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { startWsProxy } from '../../infra/wsproxy/wsproxy.ts';
import { loadEnv } from '../../shared/config.ts';

const target = new URL(loadEnv().DATABASE_URL);
const address = `${target.hostname}:${target.port}`;

/** 'open', or the HTTP status the upgrade was refused with. */
function dial(port: number, headers: Record<string, string> = {}): Promise<'open' | number> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/v2?address=${address}`, { headers });
    ws.once('open', () => {
      ws.close();
      resolve('open');
    });
    ws.once('unexpected-response', (_req, res) => {
      resolve(res.statusCode ?? 0);
      ws.terminate();
    });
    ws.once('error', reject);
  });
}

describe('wsproxy', () => {
  let server: Server;
  let port: number;
  beforeAll(async () => {
    server = await startWsProxy({ port: 0, allow: [address], allowOrigins: ['https://console.example.org'] });
    port = (server.address() as AddressInfo).port;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  it('listens on 127.0.0.1 unless told otherwise', () => {
    expect((server.address() as AddressInfo).address).toBe('127.0.0.1');
  });

  it('refuses an upgrade with a browser Origin (403), accepts none and an allow-listed one', async () => {
    expect(await dial(port, { origin: 'https://evil.example.com' })).toBe(403);
    expect(await dial(port, { origin: 'null' })).toBe(403);
    expect(await dial(port)).toBe('open');
    expect(await dial(port, { origin: 'https://console.example.org' })).toBe('open');
  });
});
