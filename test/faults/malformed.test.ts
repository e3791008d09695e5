// Malformed envelopes are permanent failures with a clear reason: dead-lettered
// on their first delivery, and nothing is written. In-process and over HTTP.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadEnv, type Env } from '../../shared/config.ts';
import { createDeps } from '../../shared/runtime/deps.ts';
import { guardPool } from '../../shared/runtime/guarded.ts';
import { serveStep, type Served } from '../../shared/runtime/serve.ts';
import { freshDatabase, type TestDatabase } from '../support/db.ts';
import { dropStreams, startBridge, type RunningBridge } from './support/bridge.ts';
import { bridgeEnv, waitFor } from './support/env.ts';
import { createFixtureTables } from '../fixtures/functions/schema.ts';
import { step as counter } from '../fixtures/functions/counter/index.ts';

const good = { scope: 'acme', type: 'count.requested', payload: {} };
const cases: [string, string, string, RegExp][] = [
  ['not JSON', '{"id": "x", ', 'envelope_not_json', /^envelope is not JSON: /],
  ['wrong types', JSON.stringify({ ...good, id: 5, payload: 'text' }), 'envelope_invalid', /^invalid envelope: id: .*expected string, received number; payload: .*expected record/],
  ['missing id', JSON.stringify(good), 'envelope_invalid', /^invalid envelope: id: .*expected string, received undefined/],
  ['bad scope', JSON.stringify({ ...good, id: 'm-1', scope: 'Not A Scope' }), 'envelope_invalid', /^invalid envelope: scope: scope must be/],
  ['2 MB payload', JSON.stringify({ ...good, id: 'big', payload: { blob: 'x'.repeat(2 * 1024 * 1024) } }), 'envelope_too_large', /more than the 262144 (bytes )?allowed/],
  ['a type this step does not consume', JSON.stringify({ ...good, id: 'm-2', type: 'other.thing' }), 'unexpected_type', /does not consume other\.thing/],
];

describe.each([
  ['in-process', false],
  ['over HTTP', true],
])('malformed envelopes, %s', (_label, http) => {
  let db: TestDatabase;
  let env: Env;
  let b: RunningBridge;
  let served: Served | undefined;

  beforeAll(async () => {
    db = await freshDatabase();
    await createFixtureTables(db.pool);
    env = bridgeEnv(loadEnv(), { DATABASE_URL: db.url });
    const deps = createDeps({ env, db: guardPool(db.pool) });
    if (http) served = await serveStep(counter.withDeps(deps), 0);
    b = await startBridge(env, db, [counter], { deps, urls: served ? { counter: served.url } : {} });
  });
  afterAll(async () => {
    await b?.stop();
    await served?.close();
    await dropStreams(env);
    await db?.drop();
  });

  it('are dead-lettered once each with the reason, and nothing is written', async () => {
    // Published on the counter's subject, as a broken publisher would.
    for (const [, body] of cases) await b.js.publish(`${env.NATS_SUBJECT_PREFIX}.acme.count.requested`, body);
    const rows = await waitFor('a dead letter per case', async () => {
      const r = await db.pool.query<{ stream_seq: string; error_class: string; error_code: string; reason: string; deliveries: number; data: Buffer }>(
        `SELECT stream_seq, error_class, error_code, reason, deliveries, data FROM dead_letters ORDER BY stream_seq`,
      );
      return r.rows.length === cases.length ? r.rows : undefined;
    });
    cases.forEach(([label, body, code, reason], i) => {
      const row = rows[i]!;
      expect({ label, class: row.error_class, code: row.error_code, deliveries: row.deliveries }).toEqual({ label, class: 'permanent', code, deliveries: 1 });
      expect(row.reason, label).toMatch(reason);
      expect(row.data.toString(), label).toBe(body);
    });
    expect((await db.pool.query(`SELECT 1 FROM fixture_effects`)).rows).toEqual([]);
    expect((await db.pool.query(`SELECT 1 FROM inbox`)).rows).toEqual([]);
    expect(b.settled.every((s) => s.outcome === 'dead-lettered' && s.deliveryCount === 1)).toBe(true);
  });
});
