// OpenFGA: the model tests, allow / deny, and failing closed when OpenFGA is stopped,
// unreachable, or not configured.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureOpenFga } from '../../../infra/services/bootstrap.ts';
import { loadModelTests } from '../../../infra/openfga/model.ts';
import { createAuthorizer, createAuthzAdmin, scopeSwarmTuple, type AuthzConfig } from '../../../shared/adapters/authz.ts';
import { loadEnv } from '../../../shared/config.ts';
import { uniq } from '../../support/ids.ts';
import { freePort, startPrivateOpenFga, type PrivateOpenFga } from './private-openfga.ts';

const env = loadEnv();
const cfg = (over: Partial<AuthzConfig>): AuthzConfig => ({
  OPENFGA_API_URL: env.OPENFGA_API_URL,
  OPENFGA_STORE_ID: '',
  OPENFGA_MODEL_ID: '',
  AUTHZ_DISABLED: false,
  OPENFGA_TIMEOUT_MS: 1500,
  OPENFGA_API_TOKEN: env.OPENFGA_API_TOKEN,
  ...over,
});

describe('OpenFGA model (infra/openfga/model.fga + tuples.yaml)', () => {
  let store: { storeId: string; modelId: string };
  beforeAll(async () => {
    store = await ensureOpenFga(env.OPENFGA_API_URL, uniq('model-test-'), env.OPENFGA_API_TOKEN);
    await createAuthzAdmin(cfg({ OPENFGA_STORE_ID: store.storeId, OPENFGA_MODEL_ID: store.modelId })).write(loadModelTests().tuples);
  });

  it('answers every check in model.tests.yaml as written', async () => {
    const authz = createAuthorizer(cfg({ OPENFGA_STORE_ID: store.storeId, OPENFGA_MODEL_ID: store.modelId }), { breaker: uniq('fga-') });
    const { checks } = loadModelTests();
    const got = await Promise.all(checks.map(async (c) => ({ ...c, got: (await authz.check(c)).allowed })));
    expect(got.filter((c) => c.got !== c.allowed)).toEqual([]);
    expect(checks.length).toBeGreaterThan(20);
  });

  it('checkAll (OpenFGA BatchCheck, 50 a request) answers each check as check does, in order; a bad relation is invalid, not a denial', async () => {
    const authz = createAuthorizer(cfg({ OPENFGA_STORE_ID: store.storeId, OPENFGA_MODEL_ID: store.modelId }), { breaker: uniq('fga-') });
    const { checks } = loadModelTests();
    // More than one batch, repeated so order matters.
    const reqs = [...checks, ...checks, ...checks].map(({ user, relation, object }) => ({ user, relation, object }));
    expect(reqs.length).toBeGreaterThan(50);
    const { allowed, results } = await authz.checkAll(reqs);
    expect(allowed).toBe(false);
    expect(results.map((r) => [r.user, r.relation, r.object, r.allowed])).toEqual([...checks, ...checks, ...checks].map((c) => [c.user, c.relation, c.object, c.allowed]));
    const bad = await authz.checkAll([reqs[0]!, { user: 'agent:facts', relation: 'no_such_relation', object: 'scope:acme' }]);
    expect(bad.results[1]).toMatchObject({ allowed: false, reason: 'invalid' });
    expect(bad.results[0]!.allowed).toBe(checks[0]!.allowed);
  });

  it('linking a scope to the swarm grants the standing roles on it (and nothing before)', async () => {
    const c = cfg({ OPENFGA_STORE_ID: store.storeId, OPENFGA_MODEL_ID: store.modelId });
    const authz = createAuthorizer(c, { breaker: uniq('fga-') });
    const req = { user: 'agent:facts', relation: 'proposer', object: 'scope:linked-later' };
    expect(await authz.check(req)).toEqual({ allowed: false, reason: 'denied' });
    await createAuthzAdmin(c).write([scopeSwarmTuple('linked-later')]);
    await createAuthzAdmin(c).write([scopeSwarmTuple('linked-later')]); // idempotent
    expect(await authz.check(req)).toEqual({ allowed: true, reason: 'allowed' });
  });
});

describe('authorizer fails closed', () => {
  let fga: PrivateOpenFga | undefined;
  afterAll(async () => fga?.stop());

  it('allows while the server runs, denies with a reason once it is stopped, then fails fast on the open breaker', async () => {
    fga = await startPrivateOpenFga();
    const { storeId, modelId } = await ensureOpenFga(fga.url, 'private');
    await createAuthzAdmin(cfg({ OPENFGA_API_URL: fga.url, OPENFGA_STORE_ID: storeId, OPENFGA_MODEL_ID: modelId })).write([scopeSwarmTuple('acme')]);
    const breaker = uniq('fga-');
    const authz = createAuthorizer(cfg({ OPENFGA_API_URL: fga.url, OPENFGA_STORE_ID: storeId, OPENFGA_MODEL_ID: modelId }), {
      breaker,
      resilience: { threshold: 3, halfOpenAfterMs: 60_000, maxAttempts: 1 },
    });
    const req = { user: 'agent:planner', relation: 'proposer', object: 'scope:acme' };
    expect(await authz.check(req)).toEqual({ allowed: true, reason: 'allowed' });
    const all = await authz.checkAll([req, { user: 'agent:planner', relation: 'advancer', object: 'state:ContextIngested' }]);
    expect(all.allowed).toBe(true);

    await fga.stop();
    const down = await authz.check(req);
    expect(down).toMatchObject({ allowed: false, reason: 'unavailable' });
    expect(down.detail).toMatch(/ECONNREFUSED|connect|socket hang up/);
    await authz.check(req);
    await authz.check(req);
    const t0 = performance.now();
    const open = await authz.check(req);
    expect(open).toEqual({ allowed: false, reason: 'unavailable', detail: 'circuit open: OpenFGA failed repeatedly' });
    expect(performance.now() - t0).toBeLessThan(50); // no network call while open
    expect((await authz.checkAll([req])).allowed).toBe(false);
  });

  it('denies when pointed at a port where nothing listens', async () => {
    const authz = createAuthorizer(cfg({ OPENFGA_API_URL: `http://127.0.0.1:${await freePort()}`, OPENFGA_STORE_ID: env.OPENFGA_STORE_ID }), { breaker: uniq('fga-') });
    expect(await authz.check({ user: 'agent:facts', relation: 'advancer', object: 'state:FactsExtracted' })).toMatchObject({ allowed: false, reason: 'unavailable' });
  });

  it('denies as unconfigured with no store, an unknown store or an unknown model', async () => {
    const req = { user: 'agent:facts', relation: 'advancer', object: 'state:FactsExtracted' };
    expect(await createAuthorizer(cfg({ OPENFGA_STORE_ID: '' })).check(req)).toMatchObject({ allowed: false, reason: 'unconfigured' });
    expect(await createAuthorizer(cfg({ OPENFGA_API_URL: '', OPENFGA_STORE_ID: 'x' })).check(req)).toMatchObject({ allowed: false, reason: 'unconfigured' });
    expect(await createAuthorizer(cfg({ OPENFGA_STORE_ID: '01HZZZZZZZZZZZZZZZZZZZZZZZ' }), { breaker: uniq('fga-') }).check(req)).toMatchObject({ allowed: false, reason: 'unconfigured' });
    expect(
      await createAuthorizer(cfg({ OPENFGA_STORE_ID: env.OPENFGA_STORE_ID, OPENFGA_MODEL_ID: '01HZZZZZZZZZZZZZZZZZZZZZZZ' }), { breaker: uniq('fga-') }).check(req),
    ).toMatchObject({ allowed: false, reason: 'unconfigured' });
    await expect(createAuthzAdmin(cfg({ OPENFGA_STORE_ID: '' })).write([scopeSwarmTuple('x')])).rejects.toThrow(/must be set/);
  });

  it('the local OpenFGA refuses a caller without its preshared key (and the check fails closed)', async () => {
    const c = cfg({ OPENFGA_STORE_ID: env.OPENFGA_STORE_ID, OPENFGA_MODEL_ID: env.OPENFGA_MODEL_ID });
    const req = { user: 'agent:facts', relation: 'advancer', object: 'state:FactsExtracted' };
    expect(await createAuthorizer(c, { breaker: uniq('fga-') }).check(req)).toEqual({ allowed: true, reason: 'allowed' });
    for (const token of ['', 'not-the-key']) {
      const res = await createAuthorizer({ ...c, OPENFGA_API_TOKEN: token }, { breaker: uniq('fga-') }).check(req);
      expect(res).toMatchObject({ allowed: false });
      expect(res.detail).toMatch(/bearer token|Unauthorized|Authentication/i);
    }
  });

  it('a check the model cannot answer is denied as invalid, and does not trip the breaker', async () => {
    const breaker = uniq('fga-');
    const authz = createAuthorizer(cfg({ OPENFGA_STORE_ID: env.OPENFGA_STORE_ID, OPENFGA_MODEL_ID: env.OPENFGA_MODEL_ID }), { breaker, resilience: { threshold: 2 } });
    for (let i = 0; i < 4; i++) {
      expect(await authz.check({ user: 'agent:facts', relation: 'owner', object: 'state:FactsExtracted' })).toMatchObject({ allowed: false, reason: 'invalid' });
    }
    expect(await authz.check({ user: 'agent:facts', relation: 'advancer', object: 'state:FactsExtracted' })).toEqual({ allowed: true, reason: 'allowed' });
  });

  it('the dev-only switch allows everything, loudly', async () => {
    const warnings: string[] = [];
    const authz = createAuthorizer(cfg({ AUTHZ_DISABLED: true }), { warn: (m) => warnings.push(m) });
    expect(await authz.check({ user: 'agent:x', relation: 'proposer', object: 'scope:y' })).toEqual({ allowed: true, reason: 'disabled' });
    expect(warnings.join()).toMatch(/AUTHZ_DISABLED=true/);
  });
});
