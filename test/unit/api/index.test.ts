// functions/api/index.ts: importing it has no effect (the bridge imports every function
// module to find steps and must not need an API token); without a token the first
// request is refused with a generic 503: the configuration detail is logged, never
// told to a caller who may not even be authenticated.
import { describe, expect, it } from 'vitest';

describe('functions/api/index.ts', () => {
  it('imports without a token and exports app and a Lambda handler', async () => {
    expect(process.env.API_TOKEN ?? '').toBe('');
    const mod = await import('../../../functions/api/index.ts');
    expect(typeof mod.app.fetch).toBe('function');
    expect(typeof mod.handler).toBe('function');
    expect('step' in mod).toBe(false);
    const res = await mod.app.request('/healthz');
    expect(res.status).toBe(503);
    const text = await res.text();
    expect(JSON.parse(text)).toEqual({ error: { code: 'unavailable', message: 'the service is unavailable' } });
    expect(text).not.toMatch(/API_TOKEN|configuration|token/i);
  });
});
