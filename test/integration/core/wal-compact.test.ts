// Context-log retention and compaction (V12) against the real Postgres, and the
// `npm run wal:compact` command.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadEnv } from '../../../shared/config.ts';
import { DEFAULT_POLICY_PATHS, filePolicySource } from '../../../shared/policy/load.ts';
import { listCertificates } from '../../../shared/store/certificates.ts';
import { loadSigner } from '../../../shared/adapters/signer.ts';
import { appendEvent, readSince } from '../../../shared/store/context-log.ts';
import { evaluateScopeFinality, type FinalityDeps } from '../../../shared/usecases/finality.ts';
import { upsertNode } from '../../../shared/store/graph.ts';
import { getScope, setScopeStatus } from '../../../shared/store/scopes.ts';
import { ensureScope } from '../../../shared/usecases/scopes.ts';
import { compactContextLog } from '../../../shared/store/wal-retention.ts';
import { freshDatabase, type TestDatabase } from '../../support/db.ts';

const run = promisify(execFile);
const env = loadEnv();
const LATER = new Date(Date.now() + 100 * 86_400_000); // every entry is older than 90 days by then
let db: TestDatabase;
let deps: FinalityDeps;
let n = 0;

beforeAll(async () => {
  db = await freshDatabase();
  deps = { db: db.pool, policies: filePolicySource(DEFAULT_POLICY_PATHS), signer: await loadSigner(env) };
});
afterAll(async () => db?.drop());

const kinds = async (scope: string) => (await readSince(db.pool, scope, 0)).map((e) => `${e.seq}:${e.kind}`);

/** A scope with some history, resolved and certified by the real finality evaluation. */
async function certifiedScope(scope: string) {
  await ensureScope(db.pool, null, { scope });
  await appendEvent(db.pool, { scope, kind: 'context_doc', source: 'api', payload: { title: 'doc' } });
  await appendEvent(db.pool, { scope, kind: 'status_card', source: 'status', payload: {} });
  await upsertNode(db.pool, { scope, kind: 'claim', content: 'Revenue is 2.1M', confidence: 0.95, sourceDoc: 'doc', createdBy: 'facts' });
  for (let i = 0; i < 3; i++) await evaluateScopeFinality(deps, { scope, messageId: `e-${++n}` });
  const [cert] = await listCertificates(db.pool, scope);
  if (!cert) throw new Error('scope did not resolve');
  return cert;
}

describe('retention: certified scopes only, and only what the certificate covers', () => {
  it('drops covered entries older than the retention period and leaves a verifiable summary', async () => {
    const cert = await certifiedScope('ret');
    const logSeq = cert.payload.log_seq;
    const after = await appendEvent(db.pool, { scope: 'ret', kind: 'status_card', source: 'status', payload: { late: true } });
    expect(after.seq).toBeGreaterThan(logSeq);
    const before = await readSince(db.pool, 'ret', 0);

    const dry = await compactContextLog(db.pool, { scope: 'ret', dryRun: true }, LATER);
    expect(dry.scopes[0]).toMatchObject({ rule: 'retention', removed: logSeq, fromSeq: 1, toSeq: logSeq, certificateId: cert.certificateId });
    expect(await readSince(db.pool, 'ret', 0)).toHaveLength(before.length); // dry run removes nothing

    const r = await compactContextLog(db.pool, { scope: 'ret' }, LATER);
    expect(r.removed).toBe(logSeq);
    expect(r.scopes[0]!.sha256).toBe(dry.scopes[0]!.sha256);
    const left = await readSince(db.pool, 'ret', 0);
    expect(left[0]).toMatchObject({ seq: 1, kind: 'wal.retained', payload: { from_seq: 1, to_seq: logSeq, removed: logSeq, certificate_id: cert.certificateId } });
    // Everything after the certificate is untouched.
    expect(left.slice(1)).toEqual(before.filter((e) => e.seq > logSeq));
    expect((left[0]!.payload as { kinds: Record<string, number> }).kinds).toMatchObject({ context_doc: 1, status_card: 1 });
    // Running again removes nothing more; the scope stays resolved.
    expect((await compactContextLog(db.pool, { scope: 'ret' }, LATER)).removed).toBe(0);
    expect((await getScope(db.pool, 'ret'))!.status).toBe('resolved');
  });

  it('keeps everything of an open scope, of a resolved scope without a certificate, and of a re-opened scope', async () => {
    await ensureScope(db.pool, null, { scope: 'still-open' });
    for (let i = 0; i < 5; i++) await appendEvent(db.pool, { scope: 'still-open', kind: 'context_doc', source: 'api' });
    await ensureScope(db.pool, null, { scope: 'uncertified' });
    for (let i = 0; i < 5; i++) await appendEvent(db.pool, { scope: 'uncertified', kind: 'context_doc', source: 'api' });
    await setScopeStatus(db.pool, 'uncertified', 'resolved'); // resolved, but its certificate is not issued
    await certifiedScope('reopened');
    await setScopeStatus(db.pool, 'reopened', 'open');
    const before = { a: await kinds('still-open'), b: await kinds('uncertified'), c: await kinds('reopened') };
    const r = await compactContextLog(db.pool, { noisyKinds: [] }, LATER);
    expect(r.scopes.map((s) => s.scope)).not.toEqual(expect.arrayContaining(['still-open', 'uncertified', 'reopened']));
    expect({ a: await kinds('still-open'), b: await kinds('uncertified'), c: await kinds('reopened') }).toEqual(before);
  });

  it('keeps covered entries younger than the retention period', async () => {
    await certifiedScope('young');
    const before = await kinds('young');
    expect((await compactContextLog(db.pool, { scope: 'young', retentionDays: 90 })).removed).toBe(0);
    expect(await kinds('young')).toEqual(before);
  });
});

describe('compaction: noisy kinds below every agent cursor', () => {
  it('folds old status cards the slowest agent has read, keeping documents and the latest card', async () => {
    await ensureScope(db.pool, null, { scope: 'noisy' });
    for (let i = 0; i < 12; i++) {
      await appendEvent(db.pool, { scope: 'noisy', kind: i % 4 === 0 ? 'context_doc' : 'status_card', source: 'x', payload: { i } });
    }
    expect((await compactContextLog(db.pool, { scope: 'noisy' }, LATER)).removed).toBe(0); // no agent cursor yet: nothing is known to be read
    await db.pool.query(`INSERT INTO agent_memory (scope_id, agent, last_seq) VALUES ('noisy', 'facts', 8), ('noisy', 'status', 12)`);
    const r = await compactContextLog(db.pool, { scope: 'noisy' }, LATER);
    // seqs 2,3,4,6,7,8 are status cards ≤ cursor 8; 10, 11, 12 are beyond the slowest cursor.
    expect(r.scopes[0]).toMatchObject({ rule: 'compaction', removed: 6, fromSeq: 2, toSeq: 8, kinds: { status_card: 6 } });
    expect(await kinds('noisy')).toEqual(['1:context_doc', '2:wal.compacted', '5:context_doc', '9:context_doc', '10:status_card', '11:status_card', '12:status_card']);
    expect((await compactContextLog(db.pool, { scope: 'noisy' }, LATER)).removed).toBe(0);
  });
});

describe('npm run wal:compact', () => {
  it('runs the policy from the command line and prints a JSON report', async () => {
    await certifiedScope('cli');
    const before = (await readSince(db.pool, 'cli', 0)).length;
    const envVars = { ...process.env, DATABASE_URL: db.url, LOG_LEVEL: 'silent' };
    const dry = await run('npx', ['tsx', 'infra/wal-compact.ts', '--scope', 'cli', '--retention-days', '0', '--dry-run'], { env: envVars, cwd: process.cwd() });
    expect(JSON.parse(dry.stdout)).toMatchObject({ dryRun: true, scopes: [{ scope: 'cli', rule: 'retention' }] });
    expect((await readSince(db.pool, 'cli', 0)).length).toBe(before);
    const real = await run('npx', ['tsx', 'infra/wal-compact.ts', '--scope', 'cli', '--retention-days', '0'], { env: envVars, cwd: process.cwd() });
    const report = JSON.parse(real.stdout);
    expect(report.removed).toBeGreaterThan(0);
    expect(real.stderr).toMatch(/removed \d+ entries in 1 scope/);
    expect((await readSince(db.pool, 'cli', 0))[0]!.kind).toBe('wal.retained');
    const bad = await run('npx', ['tsx', 'infra/wal-compact.ts', '--retention-days', 'soon'], { env: envVars, cwd: process.cwd() }).catch((e: { code: number; stderr: string }) => e);
    expect(bad).toMatchObject({ code: 1, stderr: expect.stringMatching(/--retention-days must be a non-negative number/) });
  }, 60_000);
});
