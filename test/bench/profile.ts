// The reference document's §7 gate, measured: the real bridge process
// (infra/bridge/main.ts) under load with `node --cpu-prof`, and the profile's self
// time by category (test/bench/cpuprofile.ts).
//   npx tsx test/bench/profile.ts [--only scopes,noop] [--json FILE] [--dir DIR]
// Loads (each a fresh bridge process on streams, prefix and deployment id of its own):
//   scopes  every swarm function, the default bus identities: PROFILE_SCOPES (20) scopes
//           × PROFILE_SCOPE_DOCS (10) documents published at once (the scopes bench's
//           documents and publisher), until every consumer is idle
//   noop    the no-op fixture (pure messaging: where NATS decoding would matter most),
//           the bridge bench's settings, a backlog of PROFILE_NOOP_MSGS (50,000) messages
//           published while the bridge runs, until drained
// Only the samples between the first publish and the stream going idle are counted
// (start-up, module loading and the idle checks' tail are outside; the tail's last
// ~3 s of (idle) remain and are left out of the CPU shares). The bridge is stopped with
// SIGTERM so that the profile is written; the .cpuprofile files stay in --dir.
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { connectBus, jetStream } from '../../shared/adapters/bus.ts';
import { createAuthzAdmin } from '../../shared/adapters/authz.ts';
import { createPool } from '../../shared/adapters/db.ts';
import { createS3, ensureBucket } from '../../shared/adapters/s3.ts';
import { loadEnv, type Env } from '../../shared/config.ts';
import type { Envelope } from '../../shared/contract/envelope.ts';
import { guardPool } from '../../shared/runtime/guarded.ts';
import { ensureScope } from '../../shared/usecases/scopes.ts';
import { freshDatabase, prepareTemplate } from '../support/db.ts';
import { uniq } from '../support/ids.ts';
import { spawnBridge } from '../faults/support/child.ts';
import { documents, idle, publishTimed } from './suites/scopes.ts';
import { breakdown, CATEGORIES, gate, LABELS, type Breakdown, type CpuProfile } from './cpuprofile.ts';

process.env.LOG_LEVEL ??= 'error';
const { values } = parseArgs({ options: { only: { type: 'string' }, json: { type: 'string' }, dir: { type: 'string' } } });
const only = values.only?.split(',').map((s) => s.trim());
const DIR = values.dir ?? join(tmpdir(), `swarm-profile-${uniq('')}`);
const num = (name: string, dflt: number) => {
  const v = Number(process.env[name] ?? dflt);
  if (!Number.isInteger(v) || v < 1) throw new Error(`${name} must be a positive integer`);
  return v;
};
const SCOPES = num('PROFILE_SCOPES', 20);
const SCOPE_DOCS = num('PROFILE_SCOPE_DOCS', 10);
const NOOP_MSGS = num('PROFILE_NOOP_MSGS', 50_000);

const nowUs = () => Number(process.hrtime.bigint() / 1000n);

interface LoadResult {
  load: string;
  what: string;
  seconds: number;
  profile: string;
  b: Breakdown;
}

async function profileLoad(load: 'scopes' | 'noop', base: Env): Promise<LoadResult> {
  const run = uniq('');
  const db = await freshDatabase();
  const dir = join(DIR, load);
  mkdirSync(dir, { recursive: true });
  const common = {
    DATABASE_URL: db.url,
    NATS_STREAM: `PROF_${run}`,
    NATS_DLQ_STREAM: `PROF_${run}_DLQ`,
    NATS_SUBJECT_PREFIX: `prof${run}`,
    NATS_STREAM_MAX_AGE_MS: 3_600_000,
    NATS_DLQ_MAX_AGE_MS: 3_600_000,
    BRIDGE_DEPLOYMENT_ID: `bench-prof-${run}`,
    BRIDGE_HEALTH_PORT: 0,
    BRIDGE_INBOX_CLEANUP_MS: 0,
    BRIDGE_TICK_MS: 0, // no timer ticks: only the load's own work
    LOG_LEVEL: 'info' as const,
  };
  const env: Env =
    load === 'scopes'
      ? { ...base, ...common }
      : // The bridge bench's settings; the fixture has no bus credential of its own.
        { ...base, ...common, BRIDGE_BATCH: 10, BRIDGE_CONCURRENCY: 64, BRIDGE_MAX_IN_FLIGHT: 256, BRIDGE_MAX_ACK_PENDING: 10_000, PG_POOL_MAX: 10, BRIDGE_NATS_IDENTITY: 'operator', BRIDGE_STEP_IDENTITIES: false };
  const nc = await connectBus(env, 'bench-profile', 'operator');
  const { js, jsm } = await jetStream(nc);
  try {
    let envs: Envelope[];
    if (load === 'scopes') {
      const pool = createPool({ ...env, PG_POOL_MAX: 4 });
      const admin = createAuthzAdmin(env);
      const scopes = Array.from({ length: SCOPES }, (_, i) => `sc-${run}-${i}`);
      const guarded = guardPool(pool, undefined, `prof-${run}`);
      for (let i = 0; i < scopes.length; i += 8) await Promise.all(scopes.slice(i, i + 8).map((scope) => ensureScope(guarded, admin, { scope })));
      await pool.end();
      envs = documents(scopes, run, SCOPE_DOCS);
    } else {
      const payload = { doc: 'acme-42', note: 'x'.repeat(160) }; // the bridge bench's message
      envs = Array.from({ length: NOOP_MSGS }, (_, i) => ({ id: `n-${run}-${i}`, scope: `s${i % 16}`, type: 'bench.noop', payload: { ...payload, i }, attempt: 1, source: 'bench' }) as Envelope);
    }
    const functions = load === 'scopes' ? [] : ['test/fixtures/functions/noop/index.ts'];
    const child = await spawnBridge(env, functions, {}, ['--cpu-prof', `--cpu-prof-dir=${dir}`]);
    process.stderr.write(`[profile] ${load}: bridge ${child.proc.pid} running, publishing ${envs.length} messages\n`);
    const t0 = nowUs();
    await publishTimed(js, env.NATS_SUBJECT_PREFIX, envs, new Map());
    await idle(jsm, env.NATS_STREAM);
    const t1 = nowUs();
    if (load === 'scopes') {
      // The load was the real work: every document through the facts step, nothing dead-lettered.
      const { rows } = await db.pool.query<{ facts: string; dead: string }>(
        `SELECT (SELECT count(*) FROM inbox WHERE consumer = 'facts' AND status = 'completed' AND message_id = ANY($1)) AS facts, (SELECT count(*) FROM dead_letters) AS dead`,
        [envs.map((e) => e.id)],
      );
      process.stderr.write(`[profile] scopes: ${rows[0]!.facts} of ${envs.length} documents through the facts step, ${rows[0]!.dead} dead letters\n`);
    }
    child.proc.kill('SIGTERM');
    const exit = await child.exited;
    if (exit.code !== 0) throw new Error(`bridge exited with ${exit.code ?? exit.signal}: no clean profile`);
    // One file per thread (CPU.<date>.<time>.<pid>.<thread>.<seq>.cpuprofile); thread 0 is the main one.
    const file = readdirSync(dir).find((f) => f.includes(`.${child.proc.pid}.0.`) && f.endsWith('.cpuprofile'));
    if (!file) throw new Error(`no main-thread profile of ${child.proc.pid} in ${dir}`);
    const prof = JSON.parse(readFileSync(join(dir, file), 'utf8')) as CpuProfile;
    if (prof.startTime > t0 || prof.endTime < t1) throw new Error('the load window is not inside the profile (clock mismatch?)');
    const what = load === 'scopes' ? `${SCOPES} scopes × ${SCOPE_DOCS} documents, every swarm function` : `${NOOP_MSGS} messages, no-op fixture`;
    return { load, what, seconds: (t1 - t0) / 1e6, profile: join(dir, file), b: breakdown(prof, [t0, t1]) };
  } finally {
    await jsm.streams.delete(env.NATS_STREAM).catch(() => {});
    await jsm.streams.delete(env.NATS_DLQ_STREAM).catch(() => {});
    await nc.close().catch(() => {});
    await db.drop();
  }
}

function print(results: LoadResult[]): void {
  const pct = (r: LoadResult, ms: number) => ((100 * ms) / r.b.busyMs).toFixed(1).padStart(6) + ' %';
  const w = 42;
  console.log(`${'category (self time, % of non-idle samples)'.padEnd(w)}${results.map((r) => r.load.padStart(10)).join('')}`);
  for (const c of CATEGORIES) {
    if (c === 'idle') continue;
    console.log(`${LABELS[c].padEnd(w)}${results.map((r) => pct(r, r.b.byCategory[c]).padStart(10)).join('')}`);
  }
  console.log(`${'window (s)'.padEnd(w)}${results.map((r) => r.seconds.toFixed(1).padStart(10)).join('')}`);
  console.log(`${'sampled CPU, non-idle (s)'.padEnd(w)}${results.map((r) => (r.b.busyMs / 1000).toFixed(1).padStart(10)).join('')}`);
  console.log(`${'(idle) (s)'.padEnd(w)}${results.map((r) => (r.b.byCategory.idle / 1000).toFixed(1).padStart(10)).join('')}`);
  for (const r of results) {
    const g = gate(r.b);
    console.log(
      `\n${r.load} (${r.what}): GC ${g.gcPct.toFixed(1)} %, message deserialization (nats.js parse/decode + decodeEnvelope) ${g.decodePct.toFixed(1)} % (with all JSON frames and zod: ${g.decodeUpperPct.toFixed(1)} %) → gate (>10 %) ${g.crossed ? 'CROSSED' : 'not crossed'}`,
    );
    console.log(`  profile: ${r.profile}`);
    for (const c of ['nats-decode', 'nats-other', 'envelope-decode', 'json', 'zod', 'own', 'other-node_modules', 'program'] as const) {
      const top = r.b.top[c].map(([k, ms]) => `${k} ${ms.toFixed(0)} ms`).join('; ');
      if (top) console.log(`  top ${c}: ${top}`);
    }
  }
}

const base: Env = { ...loadEnv(), S3_BUCKET: uniq('prof-') };
await prepareTemplate(base);
await ensureBucket(createS3(base), base.S3_BUCKET);
const results: LoadResult[] = [];
for (const load of ['scopes', 'noop'] as const) if (!only || only.includes(load)) results.push(await profileLoad(load, base));
print(results);
if (values.json) writeFileSync(values.json, JSON.stringify(results.map((r) => ({ ...r, gate: gate(r.b) })), null, 2) + '\n');
process.exit(0);
