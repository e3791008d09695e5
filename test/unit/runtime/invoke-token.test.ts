// A deployed step sits behind a public function URL: with STEP_INVOKE_TOKEN set it
// runs only for a caller presenting that bearer token (the bridge), compared without
// leaking its length; where /invoke is exposed (production, Lambda) it cannot be served
// without one, and the bridge does not call functions over HTTP without one.
import { spawnSync } from 'node:child_process';
import { describe, expect, it, vi } from 'vitest';
import { overHttp } from '../../../infra/bridge/invoker.ts';
import { ConfigError, loadEnv } from '../../../shared/config.ts';
import { createDeps } from '../../../shared/runtime/deps.ts';
import { MemoryIdempotencyStore } from '../../../shared/runtime/inbox/memory.ts';
import { assertInvokeToken, defineStep, sameSecret } from '../../../shared/runtime/step.ts';

// The lengths of what the step hands to timingSafeEqual: a comparison that exits early
// on a length mismatch (leaking the token's length) never calls it for those.
const compared = vi.hoisted(() => [] as [number, number][]);
vi.mock('node:crypto', async (importOriginal) => {
  const orig = await importOriginal<typeof import('node:crypto')>();
  const timingSafeEqual = (a: NodeJS.ArrayBufferView, b: NodeJS.ArrayBufferView) => {
    compared.push([a.byteLength, b.byteLength]);
    return orig.timingSafeEqual(a, b);
  };
  return { ...orig, default: { ...orig, timingSafeEqual }, timingSafeEqual };
});

const body = JSON.stringify({ id: 'm1', scope: 'acme', type: 'a.b', payload: {} });

function stepWith(token: string) {
  let runs = 0;
  const env = loadEnv({ GSWARM_HOME: '/nonexistent', STEP_INVOKE_TOKEN: token });
  const step = defineStep({ name: 'guarded', consumes: ['a.b'], emits: [], handle: async () => void runs++ }, createDeps({ env, inbox: new MemoryIdempotencyStore() as never }));
  return { step, runs: () => runs };
}

describe('STEP_INVOKE_TOKEN', () => {
  it('refuses a call without the token or with a wrong one, and runs nothing', async () => {
    const { step, runs } = stepWith('s3cret-token-for-the-bridge');
    for (const authorization of [undefined, 'Bearer wrong', 'Bearer s3cret-token-for-the-bridgeX']) {
      const res = await step.app.request('/invoke', { method: 'POST', body, headers: authorization ? { authorization } : {} });
      expect(res.status).toBe(401);
      expect(await res.json()).toMatchObject({ ok: false, error: { class: 'transient', code: 'unauthorized' } });
    }
    expect(runs()).toBe(0);
    const ok = await step.app.request('/invoke', { method: 'POST', body, headers: { authorization: 'Bearer s3cret-token-for-the-bridge' } });
    expect(ok.status).toBe(200);
    expect(runs()).toBe(1);
  });

  it('is not required when unset (local HTTP and in-process calls)', async () => {
    const { step, runs } = stepWith('');
    expect((await step.app.request('/invoke', { method: 'POST', body })).status).toBe(200);
    expect(runs()).toBe(1);
  });
});

describe('the token comparison', () => {
  it('compares fixed-length MACs of both sides, whatever their lengths (no early exit on a length mismatch)', async () => {
    const { step } = stepWith('s3cret-token-for-the-bridge');
    compared.length = 0;
    for (const authorization of ['Bearer x', 'Bearer s3cret-token-for-the-bridge-and-more', '']) {
      await step.app.request('/invoke', { method: 'POST', body, headers: authorization ? { authorization } : {} });
    }
    expect(compared).toEqual([
      [32, 32],
      [32, 32],
      [32, 32],
    ]);
    expect(sameSecret('a', 'a')).toBe(true);
    expect(sameSecret('a', 'ab')).toBe(false);
  });
});

describe('STEP_INVOKE_TOKEN where /invoke is exposed', () => {
  const env = (over: Record<string, string>) => loadEnv({ GSWARM_HOME: '/nonexistent', ...over });
  it('a served step refuses to start without it in production, under NODE_ENV=production and on Lambda', () => {
    for (const [e, proc] of [
      [env({ SWARM_ENV: 'production' }), {}],
      [env({}), { NODE_ENV: 'production' }],
      [env({}), { AWS_LAMBDA_FUNCTION_NAME: 'gswarm-facts' }],
    ] as const) {
      expect(() => assertInvokeToken(e, proc)).toThrow(ConfigError);
      expect(() => assertInvokeToken(e, proc)).toThrow(/STEP_INVOKE_TOKEN: must be set in production/);
      expect(() => assertInvokeToken({ ...e, STEP_INVOKE_TOKEN: 's3cret-token-for-the-bridge' }, proc)).not.toThrow();
    }
    expect(() => assertInvokeToken(env({}), {})).not.toThrow(); // local development
  });

  it("the bridge's HTTP invoker refuses to call without it in production", () => {
    expect(() => overHttp('http://fn.example/', 1_000, '', { SWARM_ENV: 'production' })).toThrow(/STEP_INVOKE_TOKEN: must be set in production to invoke functions over HTTP/);
    expect(() => overHttp('http://fn.example/', 1_000, 's3cret-token-for-the-bridge', { SWARM_ENV: 'production' })).not.toThrow();
    expect(() => overHttp('http://127.0.0.1:3100/', 1_000, '', { SWARM_ENV: 'development' })).not.toThrow();
  });

  it("a step module fails its Lambda cold start without it: reading step.handler at import checks the token", () => {
    const load = (token: string) =>
      spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', "await import('./test/fixtures/functions/counter/index.ts')"], {
        env: { ...process.env, AWS_LAMBDA_FUNCTION_NAME: 'gswarm-counter', STEP_INVOKE_TOKEN: token, GSWARM_HOME: '/nonexistent', LOG_LEVEL: 'silent' },
        encoding: 'utf8',
        timeout: 30_000,
      });
    const open = load('');
    expect(open.status).not.toBe(0);
    expect(open.stderr).toMatch(/STEP_INVOKE_TOKEN: must be set in production and on Lambda/);
    expect(load('s3cret-token-for-the-bridge').status).toBe(0);
  });

  it('npm run function:serve exits with the configuration error instead of serving an open /invoke', () => {
    const r = spawnSync(process.execPath, ['--import', 'tsx', 'shared/runtime/serve.ts', 'test/fixtures/functions/counter/index.ts', '0'], {
      env: { ...process.env, SWARM_ENV: 'production', STEP_INVOKE_TOKEN: '', GSWARM_HOME: '/nonexistent', LOG_LEVEL: 'silent' },
      encoding: 'utf8',
      timeout: 30_000,
    });
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/STEP_INVOKE_TOKEN: must be set in production/);
    expect(r.stdout).not.toMatch(/^http:/m);
  });
});
