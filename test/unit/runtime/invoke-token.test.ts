// A deployed step sits behind a public function URL: with STEP_INVOKE_TOKEN set it
// runs only for a caller presenting that bearer token (the bridge).
import { describe, expect, it } from 'vitest';
import { loadEnv } from '../../../shared/config.ts';
import { createDeps } from '../../../shared/runtime/deps.ts';
import { MemoryIdempotencyStore } from '../../../shared/runtime/inbox/memory.ts';
import { defineStep } from '../../../shared/runtime/step.ts';

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
