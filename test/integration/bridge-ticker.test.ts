// The bridge's timer: finality evaluations and status ticks for open scopes, once per
// window however many bridges tick.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectBus, jetStream, provisionStreams, type NatsConnection } from '../../shared/adapters/bus.ts';
import { tick } from '../../infra/bridge/ticker.ts';
import { freshDatabase, type TestDatabase } from '../support/db.ts';
import { uniq } from '../support/ids.ts';

let db: TestDatabase;
let nc: NatsConnection;
const id = uniq('');
const prefix = `tick${id}`;

beforeAll(async () => {
  db = await freshDatabase();
  nc = await connectBus(db.env, 'ticker-test', 'operator');
  const { jsm } = await jetStream(nc);
  await provisionStreams(jsm, { ...db.env, NATS_STREAM: `TICK_${id}`, NATS_DLQ_STREAM: `TICK_${id}_DLQ`, NATS_SUBJECT_PREFIX: prefix });
  await db.pool.query(`INSERT INTO scopes (scope_id, status) VALUES ('open-a', 'open'), ('blocked-b', 'blocked'), ('done-c', 'resolved')`);
  // An operator's hold (issue 13, item 5): neither a paused nor a closed scope is ticked.
  await db.pool.query(
    `INSERT INTO scopes (scope_id, status, hold, held_since, held_by) VALUES ('paused-d', 'open', 'paused', now(), 'user:operator'), ('closed-e', 'blocked', 'closed', now(), 'user:operator')`,
  );
});
afterAll(async () => {
  const { jsm } = await jetStream(nc);
  await jsm.streams.delete(`TICK_${id}`).catch(() => {});
  await jsm.streams.delete(`TICK_${id}_DLQ`).catch(() => {});
  await nc.close();
  await db.drop();
});

describe('bridge ticker', () => {
  it('publishes a finality evaluation and a status tick per open scope, once per window', async () => {
    const { js, jsm } = await jetStream(nc);
    const t0 = 1_800_000_000_000;
    expect(await tick(db.pool, js, prefix, 60_000, t0)).toBe(4);
    // A second bridge ticking in the same window publishes nothing new.
    expect(await tick(db.pool, js, prefix, 60_000, t0 + 30_000)).toBe(0);
    const info = await jsm.streams.info(`TICK_${id}`, { subjects_filter: `${prefix}.>` });
    expect(Object.keys(info.state.subjects ?? {}).sort()).toEqual([
      `${prefix}.blocked-b.finality.evaluate`,
      `${prefix}.blocked-b.status.tick`,
      `${prefix}.open-a.finality.evaluate`,
      `${prefix}.open-a.status.tick`,
    ]);
    // The next window ticks again; the resolved, paused and closed scopes are never ticked.
    expect(await tick(db.pool, js, prefix, 60_000, t0 + 60_000)).toBe(4);
    expect((await jsm.streams.info(`TICK_${id}`)).state.messages).toBe(8);
  });
});
