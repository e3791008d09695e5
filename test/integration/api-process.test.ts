// `npm run api` as a real process (node --import tsx infra/api/main.ts): it refuses to
// start without a token outside dev mode, serves over HTTP, and on SIGTERM / SIGINT
// ends its event streams (deleting their consumers) and exits 0.
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Env } from '../../shared/config.ts';
import { toProcessEnv, waitFor } from '../faults/support/env.ts';
import { freePort } from './core/private-openfga.ts';
import { SseReader, startApi, token, type ApiHarness } from './api-harness.ts';
import { uniq } from '../support/ids.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

interface Child {
  proc: ChildProcess;
  logs: Record<string, unknown>[];
  stderr: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

function spawnApi(env: Record<string, string | undefined>): Child {
  const proc = spawn(process.execPath, ['--import', 'tsx', 'infra/api/main.ts'], { cwd: ROOT, env: env as NodeJS.ProcessEnv, stdio: ['ignore', 'pipe', 'pipe'] });
  const logs: Record<string, unknown>[] = [];
  let out = '';
  let err = '';
  proc.stdout!.on('data', (d: Buffer) => {
    out += d.toString();
    let i: number;
    while ((i = out.indexOf('\n')) >= 0) {
      const line = out.slice(0, i);
      out = out.slice(i + 1);
      try {
        logs.push(JSON.parse(line) as Record<string, unknown>);
      } catch {
        logs.push({ msg: line });
      }
    }
  });
  proc.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => proc.once('exit', (code, signal) => resolve({ code, signal })));
  return { proc, logs, stderr: () => err, exited };
}

/** The harness configuration as a child's environment, without any API token. */
const baseEnv = (env: Env, extra: Record<string, string>) => {
  const out = toProcessEnv(env, { LOG_LEVEL: 'info', ...extra });
  for (const k of ['API_TOKEN', 'API_TOKENS', 'API_DEV_MODE']) if (!(k in extra)) delete out[k];
  return out as Record<string, string | undefined>;
};

let h: ApiHarness;
const children: Child[] = [];
beforeAll(async () => {
  h = await startApi();
});
afterAll(async () => {
  for (const c of children) if (c.proc.exitCode === null && c.proc.signalCode === null) c.proc.kill('SIGKILL');
  await h?.close();
});

describe('start-up refusal', () => {
  it.each([
    ['no token and no dev mode', {}, /^invalid configuration: API_TOKEN: no API token configured: set API_TOKEN \(or API_TOKENS\), or API_DEV_MODE=true/],
    ['a token shorter than 16 characters', { API_TOKEN: 'short' }, /^invalid configuration: API_TOKEN: a token must be at least 16 characters/],
    ['an API_TOKENS entry without a principal', { API_TOKENS: `${token()}` }, /^invalid configuration: API_TOKENS: expected token=principal/],
    ['a principal of an unknown type', { API_TOKENS: `${token()}=admin:root` }, /^invalid configuration: API_TOKENS: principal "admin:root" must be agent:<id> or user:<id>/],
    ['dev mode in production', { API_DEV_MODE: 'true', SWARM_ENV: 'production' }, /^invalid configuration: API_DEV_MODE: may not be set in production/],
  ])('%s: exits 2 with one line naming the variable', async (_what, extra, re) => {
    const child = spawnApi(baseEnv(h.env, { API_PORT: String(await freePort()), ...extra }));
    children.push(child);
    expect(await child.exited).toEqual({ code: 2, signal: null });
    const lines = child.stderr().trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(re);
  });
});

describe('serving', () => {
  async function start(extra: Record<string, string>) {
    const port = await freePort();
    const child = spawnApi(baseEnv(h.env, { API_PORT: String(port), API_SHUTDOWN_GRACE_MS: '5000', ...extra }));
    children.push(child);
    await waitFor('the API to listen', () => {
      if (child.proc.exitCode !== null) throw new Error(`exited ${child.proc.exitCode}: ${child.stderr()}`);
      return child.logs.some((l) => l.msg === 'API listening');
    }, { timeoutMs: 30_000 });
    return { child, url: `http://127.0.0.1:${port}` };
  }

  it('dev mode without a token: warns loudly at start and treats every request as agent:api; SIGINT exits 0', async () => {
    const { child, url } = await start({ API_DEV_MODE: 'true' });
    expect(child.logs.find((l) => l.level === 40 && String(l.msg).includes('API_DEV_MODE=true and no API token configured'))).toBeTruthy();
    const scope = uniq('dev-');
    // agent:api is an ingester on swarm:main: it may create a scope without any token.
    const res = await fetch(`${url}/v1/scopes/${scope}`, { method: 'PUT' });
    expect(res.status).toBe(201);
    const { rows } = await h.db.pool.query('SELECT principal, allowed FROM access_log WHERE request_id = $1', [res.headers.get('x-request-id')]);
    expect(rows).toEqual([{ principal: 'agent:api', allowed: true }]);
    child.proc.kill('SIGINT');
    expect(await child.exited).toEqual({ code: 0, signal: null });
  });

  it('over HTTP with a token; SIGTERM ends the open event stream, deletes its consumer, and exits 0', async () => {
    const apiToken = token();
    const { child, url } = await start({ API_TOKEN: apiToken });
    const auth = { authorization: `Bearer ${apiToken}` };
    expect((await fetch(`${url}/v1/scopes/x`)).status).toBe(401);
    const scope = uniq('proc-');
    expect((await fetch(`${url}/v1/scopes/${scope}`, { method: 'PUT', headers: auth })).status).toBe(201);

    const sse = new SseReader(await fetch(`${url}/v1/scopes/${scope}/events`, { headers: auth }));
    await sse.waitFor((e) => e.event === 'ready');
    const res = await fetch(`${url}/v1/scopes/${scope}/documents`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/json' },
      body: JSON.stringify({ title: 'over http', text: 'served by npm run api' }),
    });
    expect(res.status).toBe(202);
    const ev = await sse.waitFor((e) => e.event === 'doc.submitted');
    expect(JSON.parse(ev.data!).payload).toMatchObject({ title: 'over http' });
    const consumers = async () => {
      let n = 0;
      for await (const _ of await h.jsm.consumers.list(h.env.NATS_STREAM)) n++;
      return n;
    };
    expect(await consumers()).toBe(1);

    child.proc.kill('SIGTERM');
    await expect(sse.waitFor(() => false, 10_000)).rejects.toThrow('stream ended');
    expect(await child.exited).toEqual({ code: 0, signal: null });
    expect(child.logs.find((l) => l.msg === 'stopped')).toMatchObject({ clean: true });
    expect(await consumers()).toBe(0);
  });
});
