// The bus refuses what a credential may not do, on a real nats-server configured with
// the generated authorization (infra/nats): no connection without valid credentials;
// each identity publishes exactly its row of the message catalogue (only the API a
// document or a human answer, only governance an approval); a step cannot take
// another step's messages; the API reads events through its own consumers only.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createUser } from '@nats-io/nkeys';
import { DeliverPolicy } from '@nats-io/jetstream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectBus, consumerName, jetStream, provisionConsumers, provisionStreams, type NatsConnection } from '../../shared/adapters/bus.ts';
import { loadEnv, type Env } from '../../shared/config.ts';
import { stepIdentity } from '../../shared/contract/bus-identity.ts';
import { MESSAGES, PUBLISHERS, type MessageName } from '../../shared/contract/messages.ts';
import { writeAuthConf } from '../../infra/nats/credentials.ts';
import { STEP_IDENTITIES } from '../../infra/nats/permissions.ts';
import { SWARM_STEPS } from '../../functions/registry.ts';
import { PrivateNats } from '../faults/support/servers.ts';

let nats: PrivateNats;
let dir: string;
let env: Env;
const open: NatsConnection[] = [];
const as = async (identity: string) => {
  const nc = await connectBus(env, 'bus-auth-test', identity);
  open.push(nc);
  return nc;
};

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'gswarm-creds-'));
  writeAuthConf(dir, join(dir, 'auth.conf'));
  nats = await PrivateNats.start({ extraConf: readFileSync(join(dir, 'auth.conf'), 'utf8') });
  env = { ...loadEnv(), NATS_URL: nats.url, NATS_CREDS_DIR: dir };
  const { jsm } = await jetStream(await as('bridge'));
  await provisionStreams(jsm, env, 30_000);
  await provisionConsumers(jsm, env, SWARM_STEPS, env.BRIDGE_DEPLOYMENT_ID);
}, 60_000);
afterAll(async () => {
  await Promise.all(open.map((c) => c.close().catch(() => {})));
  await nats?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('bus credentials', () => {
  it('refuses a connection without credentials, with credentials it does not know, or with a missing credentials file', async () => {
    await expect(connectBus({ ...env, NATS_CREDS_DIR: '' }, 't', 'api')).rejects.toThrow(/Authorization Violation/);
    const stranger = mkdtempSync(join(tmpdir(), 'gswarm-stranger-'));
    writeFileSync(join(stranger, 'api.nk'), new TextDecoder().decode(createUser().getSeed()));
    await expect(connectBus({ ...env, NATS_CREDS_DIR: stranger }, 't', 'api')).rejects.toThrow(/Authorization Violation/);
    await expect(connectBus({ ...env, NATS_CREDS_DIR: stranger }, 't', 'step-governance')).rejects.toThrow(/no bus credentials for step-governance/);
    rmSync(stranger, { recursive: true, force: true });
  });

  it('each identity publishes exactly its row of the catalogue: the API documents and answers, governance approvals, the bridge its timer', async () => {
    const rows: [string, readonly string[]][] = [
      ['api', PUBLISHERS.api],
      ['bridge', PUBLISHERS.ticker],
      ...STEP_IDENTITIES.map((s): [string, readonly string[]] => [stepIdentity(s), PUBLISHERS[s]]),
    ];
    const seen: Record<string, string[]> = {};
    for (const [identity] of rows) {
      const { js } = await jetStream(await as(identity), { manager: false });
      seen[identity] = [];
      for (const type of Object.keys(MESSAGES) as MessageName[]) {
        const ok = await js.publish(`${env.NATS_SUBJECT_PREFIX}.s1.${type}`, '{}', { timeout: 5_000 }).then(
          () => true,
          (e: Error) => {
            expect(e.message).toMatch(/Permissions Violation for Publish/);
            return false;
          },
        );
        if (ok) seen[identity]!.push(type);
      }
    }
    expect(seen).toEqual(Object.fromEntries(rows.map(([id, types]) => [id, [...types].sort((a, b) => Object.keys(MESSAGES).indexOf(a) - Object.keys(MESSAGES).indexOf(b))])));
    // A resume's releases are pointers to what a step stored itself: the API never publishes another step's types.
    expect(seen.api).toEqual(['doc.submitted', 'review.responded', 'hold.released', 'scope.hold_changed']);
    // Releases come from a resume (the API) or the bridge's tick releasing again what a resume left held; no step sends one.
    expect(Object.entries(seen).filter(([, t]) => t.includes('hold.released')).map(([id]) => id)).toEqual(['api', 'bridge']);
    expect(Object.entries(seen).filter(([, t]) => t.includes('action.approved')).map(([id]) => id)).toEqual(['step-governance']);
  });

  it("a step pulls its own consumer, not another's; the API reads events through its own consumer, never a step's", async () => {
    const facts = await jetStream(await as(stepIdentity('facts')), { manager: false });
    const own = await facts.js.consumers.get(env.NATS_STREAM, consumerName('facts'));
    expect((await own.info()).name).toBe('fn-facts');
    await expect(facts.js.consumers.get(env.NATS_STREAM, consumerName('executor'))).rejects.toThrow(/Permissions Violation/);

    const api = await jetStream(await as('api'), { manager: false });
    await expect(api.js.consumers.get(env.NATS_STREAM, consumerName('executor'))).rejects.toThrow(/Permissions Violation/);
    // What GET /v1/scopes/{scope}/events does: an ordered consumer of one scope's subjects.
    await api.js.publish(`${env.NATS_SUBJECT_PREFIX}.s2.doc.submitted`, '{"n":1}');
    const feed = await api.js.consumers.get(env.NATS_STREAM, { filter_subjects: [`${env.NATS_SUBJECT_PREFIX}.s2.>`], deliver_policy: DeliverPolicy.All });
    const m = await feed.next({ expires: 5_000 });
    expect(m?.subject).toBe(`${env.NATS_SUBJECT_PREFIX}.s2.doc.submitted`);
    await feed.delete();
  });
});
