// The OpenAPI document is generated from the routes: every route the app serves is in
// it (no undocumented endpoint), with the bearer requirement exactly on /v1.
import { describe, expect, it } from 'vitest';
import { createApi } from '../../../functions/api/app.ts';
import { describeValidation } from '../../../functions/api/errors.ts';
import { DocumentBody } from '../../../functions/api/schemas.ts';
import type { Authorizer, AuthzAdmin } from '../../../shared/adapters/authz.ts';
import { loadEnv } from '../../../shared/config.ts';
import { ScopeId } from '../../../shared/contract/envelope.ts';
import { policySourceFromEnv } from '../../../shared/policy/load.ts';
import type { GuardedPool } from '../../../shared/runtime/guarded.ts';

// Nothing here sends a request that reaches a dependency.
const unused = new Proxy({}, { get: () => { throw new Error('dependency used'); } });
const env = { ...loadEnv({ GSWARM_HOME: '/nonexistent' }), API_TOKEN: 'unit-test-token-0123456789' };
const app = createApi({
  env,
  db: unused as GuardedPool,
  authz: unused as Authorizer,
  authzAdmin: unused as AuthzAdmin,
  policies: policySourceFromEnv(env),
  nc: unused as never,
  js: unused as never,
});

// The console's shell and assets are pages, not API.
const isConsole = (p: string) => p === '/' || p === '/ui' || p.startsWith('/ui/');

describe('OpenAPI document', () => {
  it('lists every route the app serves, each with its method', async () => {
    const doc = (await (await app.request('/openapi.json')).json()) as { paths: Record<string, Record<string, unknown>> };
    const documented = Object.entries(doc.paths).flatMap(([p, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${p}`)).sort();
    const served = app.routes
      .filter((r) => r.method !== 'ALL' && r.path !== '/openapi.json' && !isConsole(r.path))
      .map((r) => `${r.method} ${r.path.replace(/:([a-z]+)/g, '{$1}')}`)
      .sort();
    expect(documented).toEqual([...new Set(served)]);
    expect(documented).toHaveLength(29); // 22 + 4 webhook routes + pause, resume, close (issue 13)
  });

  it('the scope parameter is documented with the pattern the envelope enforces', async () => {
    const doc = (await (await app.request('/openapi.json')).json()) as {
      paths: Record<string, Record<string, { parameters?: { name: string; schema: { pattern?: string } }[] }>>;
    };
    const pattern = doc.paths['/v1/scopes/{scope}']!.get!.parameters!.find((p) => p.name === 'scope')!.schema.pattern!;
    for (const s of ['acme', 'a', '0x', 'a_b-c', 'x'.repeat(64), 'Acme', '-x', '_x', 'a.b', 'x'.repeat(65), '']) {
      expect([s, new RegExp(pattern).test(s)]).toEqual([s, ScopeId.safeParse(s).success]);
    }
  });

  it('validation messages name the field: target, path, and "is required" for a missing one', () => {
    const r = DocumentBody.safeParse({ title: '', extra: 1 });
    expect(r.success).toBe(false);
    expect(describeValidation('json', r.error!)).toEqual([
      { path: 'body.title', message: 'must not be empty' },
      { path: 'body.text', message: 'is required' },
      { path: 'body', message: 'Unrecognized key: "extra"' },
    ]);
  });
});
