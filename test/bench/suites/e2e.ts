// End to end (issue 11): documents through the real bridge process (every swarm function)
// on the shared services, with fresh database and streams per run (the `scopes` suite's
// runOnce), against same-run ceilings that say what the documents' two heaviest pieces of
// work would allow on their own, and with every local process's CPU over each run.
//
// Sizes and settings (environment):
//   BENCH_E2E_ONE_SCOPE_DOCS     documents of the one-scope case (500)
//   BENCH_SCOPES                 scopes of the many-scopes cases (100)
//   BENCH_SCOPE_DOCS             documents per scope of the many-scopes cases (20)
//   BENCH_E2E_CASES              which to run: one-scope, many (both)
//   BENCH_E2E_EMBED_CONCURRENCY  embedding requests in flight in the embed ceiling (2: the
//                                worker computes one at a time; a second keeps it busy
//                                while the first one's answer travels)
//   BENCH_E2E_TIMEOUT_MS         longest wait for a run to go idle (30 min)
//
// Cases:
//   one-scope        1 scope × BENCH_E2E_ONE_SCOPE_DOCS documents, one bridge
//   many-1-bridge    BENCH_SCOPES × BENCH_SCOPE_DOCS documents, one bridge
//   many-2-bridges   the same with two bridge processes on the same durable consumers
//   extract-ceiling.<docs>  the offline extraction alone of the same documents, in this
//                    process's extraction pool (EXTRACT_WORKERS threads, as one bridge has)
//   embed-ceiling.<docs>    the texts the facts step would embed for the same documents
//                    (shared/extract/embed-texts.ts over the offline extraction, the scope's
//                    terms carried from document to document), one request per document as
//                    the step sends them (the shared embeddings client, batches of 64),
//                    straight to the facts-worker
// documents/s of a run ÷ a ceiling's documents/s = `vs_extract_ceiling` / `vs_embed_ceiling`:
// near 1, that work is the limit. Per run and ceiling, per process: CPU (utime + stime from
// /proc, over first publish → idle) per document and as a share of the wall clock (cores
// busy: 1.0 = one core all the time) — bridges (and their main threads: the rest is the
// extraction thread, GC and libuv), this bench process, the facts-worker, Postgres (the
// shared server's every process: includes other sessions' work and OpenFGA's queries),
// OpenFGA, NATS, MinIO, the WebSocket proxy; the machine's busy cores and what no listed
// process accounts for (other work on the machine, the kernel); `cpu_bound_docs_per_s` =
// the machine's cores ÷ the listed processes' CPU per document (the rate if the run had
// every core to itself and waited for nothing). With the run's Postgres
// backends sampled twice a second: how many are running, waiting for a lock (the facts
// step's per-scope advisory lock among them), or idle inside a transaction.
import { loadavg } from 'node:os';
import { createEmbeddingsClient } from '../../../shared/adapters/embeddings.ts';
import { createS3, ensureBucket } from '../../../shared/adapters/s3.ts';
import { loadEnv, type Env } from '../../../shared/config.ts';
import type { Envelope } from '../../../shared/contract/envelope.ts';
import { addTerms, textsToEmbed } from '../../../shared/extract/embed-texts.ts';
import type { DocumentFacts } from '../../../shared/extract/extract.ts';
import { limitsFromEnv } from '../../../shared/extract/limits.ts';
import { closeExtractPool, extractOffline } from '../../../shared/extract/pool.ts';
import { prepareTemplate } from '../../support/db.ts';
import { uniq } from '../../support/ids.ts';
import type { BenchRow, BenchSuite } from '../harness.ts';
import { cpuBetween, processCpu, readCpu, serviceProbes, type CpuProbe, type CpuUsage } from '../proc.ts';
import { documents, intEnv, reportRun, resultRows, runOnce, versusOneBridge, type RunResult } from './scopes.ts';

const ONE_SCOPE_DOCS = intEnv('BENCH_E2E_ONE_SCOPE_DOCS', 500, 1);
const SCOPES = intEnv('BENCH_SCOPES', 100, 1);
const SCOPE_DOCS = intEnv('BENCH_SCOPE_DOCS', 20, 1);
const EMBED_CONCURRENCY = intEnv('BENCH_E2E_EMBED_CONCURRENCY', 2, 1);
const TIMEOUT_MS = intEnv('BENCH_E2E_TIMEOUT_MS', 30 * 60_000, 1_000);
const CASES = new Set((process.env.BENCH_E2E_CASES ?? 'one-scope,many').split(',').map((s) => s.trim()));
for (const c of CASES) if (c !== 'one-scope' && c !== 'many') throw new Error(`BENCH_E2E_CASES: unknown case ${c} (one-scope, many)`);

/** The issue's targets on this machine, documents/s end to end. */
const TARGET = { 'one-scope': 25, many: 50 } as const;

export const suite: BenchSuite = {
  name: 'e2e',
  description: `end to end through the bridge process: 1 scope × ${ONE_SCOPE_DOCS} documents (one bridge) and ${SCOPES} × ${SCOPE_DOCS} (one bridge, then two): documents/s, publish→cycle-done p50/p99, Postgres transactions and messages per document, CPU per process; same-run ceilings: offline extraction alone and the facts step's embeddings alone of the same documents`,
  async run(): Promise<BenchRow[]> {
    const env: Env = { ...loadEnv(), S3_BUCKET: uniq('e2e-') };
    await prepareTemplate(env);
    await ensureBucket(createS3(env), env.S3_BUCKET);
    const rows: BenchRow[] = [{ case: 'machine', metric: 'loadavg_1m_start', value: loadavg()[0]!, unit: '' }];
    const rate = (r: RunResult) => r.docs / r.wallSeconds;

    if (CASES.has('one-scope')) {
      const docs = documents(['sc-0'], 'ceiling', ONE_SCOPE_DOCS);
      const ceiling = await ceilings(env, 'one-scope', docs);
      rows.push(...ceiling.rows);
      const r = await runCase(env, 'one-scope', 1, ONE_SCOPE_DOCS, 1);
      rows.push(...r.rows, ...versus('one-scope', rate(r.result), ceiling), { case: 'one-scope', metric: 'x_target', value: rate(r.result) / TARGET['one-scope'], unit: `x ${TARGET['one-scope']} docs/s` });
    }

    if (CASES.has('many')) {
      const docs = documents(Array.from({ length: SCOPES }, (_, i) => `sc-${i}`), 'ceiling', SCOPE_DOCS);
      const ceiling = await ceilings(env, 'many', docs);
      rows.push(...ceiling.rows);
      const one = await runCase(env, 'many-1-bridge', SCOPES, SCOPE_DOCS, 1);
      rows.push(...one.rows, ...versus('many-1-bridge', rate(one.result), ceiling), { case: 'many-1-bridge', metric: 'x_target', value: rate(one.result) / TARGET.many, unit: `x ${TARGET.many} docs/s` });
      const two = await runCase(env, 'many-2-bridges', SCOPES, SCOPE_DOCS, 2);
      rows.push(...two.rows, ...versus('many-2-bridges', rate(two.result), ceiling), { case: 'many-2-bridges', metric: 'x_target', value: rate(two.result) / TARGET.many, unit: `x ${TARGET.many} docs/s` });
      rows.push(...versusOneBridge('many-2-bridges', one.result, two.result, ['cycle', 'settled']));
    }
    rows.push({ case: 'machine', metric: 'loadavg_1m_end', value: loadavg()[0]!, unit: '' });
    return rows;
  },
};

interface Ceiling {
  rows: BenchRow[];
  extractDocsPerS: number;
  embedDocsPerS: number;
}

function versus(name: string, docsPerS: number, c: Ceiling): BenchRow[] {
  return [
    { case: name, metric: 'vs_extract_ceiling', value: docsPerS / c.extractDocsPerS, unit: 'x' },
    { case: name, metric: 'vs_embed_ceiling', value: docsPerS / c.embedDocsPerS, unit: 'x' },
  ];
}

async function runCase(base: Env, name: string, scopes: number, docs: number, bridges: number): Promise<{ result: RunResult; rows: BenchRow[] }> {
  process.stderr.write(`[bench] e2e/${name}: ${scopes} scope(s) × ${docs} documents, ${bridges} bridge process(es), load average ${loadavg()[0]!.toFixed(1)}\n`);
  const r = await runOnce(base, { scopes, docs, bridges, label: `e2e/${name}`, timeoutMs: TIMEOUT_MS });
  reportRun(`e2e/${name}`, r);
  const pg = r.pg;
  const rows = [
    ...resultRows(name, r),
    ...cpuRows(name, r.cpu, r.docs, r.cpuParts),
    { case: name, metric: 'pg_running_avg', value: pg.running, unit: 'backends' },
    { case: name, metric: 'pg_lock_wait_avg', value: pg.lockWait, unit: 'backends' },
    { case: name, metric: 'pg_advisory_wait_avg', value: pg.advisoryWait, unit: 'backends' },
    { case: name, metric: 'pg_other_wait_avg', value: pg.otherWait, unit: 'backends' },
    { case: name, metric: 'pg_idle_in_tx_avg', value: pg.idleInTransaction, unit: 'backends' },
  ];
  return { result: r, rows };
}

/**
 * CPU per document (ms) and share of the wall clock (cores) of each probe, the machine's
 * busy cores, and what the listed processes leave unexplained.
 */
function cpuRows(name: string, u: CpuUsage, docs: number, parts: ReadonlySet<string> = new Set()): BenchRow[] {
  const rows: BenchRow[] = [{ case: name, metric: 'cpu_window', value: u.wallSeconds, unit: 's' }];
  let attributed = 0;
  for (const [p, s] of u.seconds) {
    if (!parts.has(p)) attributed += s;
    rows.push({ case: name, metric: `cpu_per_doc_${p}`, value: (s * 1000) / docs, unit: 'ms' });
    rows.push({ case: name, metric: `cpu_share_${p}`, value: s / u.wallSeconds, unit: 'cores' });
  }
  rows.push(
    { case: name, metric: 'cpu_share_machine_busy', value: u.machineBusy / u.wallSeconds, unit: `cores of ${Math.round(u.cores)}` },
    { case: name, metric: 'cpu_share_unattributed', value: (u.machineBusy - attributed) / u.wallSeconds, unit: 'cores' },
    { case: name, metric: 'cpu_per_doc_attributed', value: (attributed * 1000) / docs, unit: 'ms' },
    // Every core of the machine on this work and nothing else: the rate its CPU cost allows.
    { case: name, metric: 'cpu_bound_docs_per_s', value: (Math.round(u.cores) * docs) / attributed, unit: 'docs/s' },
  );
  const top = [...u.seconds].filter(([p]) => !parts.has(p)).sort((a, b) => b[1] - a[1]).slice(0, 4);
  process.stderr.write(
    `[bench] e2e/${name}: machine ${(u.machineBusy / u.wallSeconds).toFixed(2)} of ${Math.round(u.cores)} cores busy over ${u.wallSeconds.toFixed(0)} s; ` +
      `${top.map(([p, s]) => `${p} ${(s / u.wallSeconds).toFixed(2)}`).join(', ')} cores\n`,
  );
  return rows;
}

/** Both ceilings for these documents (extraction first: the embed ceiling embeds what it extracted). */
async function ceilings(env: Env, docsName: string, envs: readonly Envelope[]): Promise<Ceiling> {
  const services = serviceProbes();
  const probes: CpuProbe[] = [{ name: 'bench', cpu: () => processCpu(process.pid) }, ...services.filter((p) => p.name === 'facts_worker')];
  const text = (e: Envelope) => (e.payload as { text: string }).text;
  const rows: BenchRow[] = [];

  // Extraction alone, as the facts step runs it (worker pool with its deadline); the
  // first document once before the clock starts (the thread and wink-nlp's model load).
  const limits = limitsFromEnv(env);
  const opts = { workers: env.EXTRACT_WORKERS, timeoutMs: env.EXTRACT_TIMEOUT_MS, workerFile: env.EXTRACT_WORKER_FILE || undefined };
  const extractName = `extract-ceiling.${docsName}`;
  process.stderr.write(`[bench] e2e/${extractName}: ${envs.length} documents, ${opts.workers} extraction thread(s)\n`);
  await extractOffline(text(envs[0]!), limits, opts);
  const facts = new Array<DocumentFacts>(envs.length);
  let next = 0;
  const x0 = readCpu(probes);
  // Two documents per thread in flight, so that a thread never waits for the next task.
  await Promise.all(
    Array.from({ length: Math.max(1, opts.workers) * 2 }, async () => {
      while (next < envs.length) {
        const i = next++;
        facts[i] = await extractOffline(text(envs[i]!), limits, opts);
      }
    }),
  );
  const extractCpu = cpuBetween(x0, readCpu(probes));
  await closeExtractPool();
  const extractDocsPerS = envs.length / extractCpu.wallSeconds;
  rows.push(
    { case: extractName, metric: 'documents', value: envs.length, unit: 'docs' },
    { case: extractName, metric: 'docs_per_s', value: extractDocsPerS, unit: 'docs/s' },
    { case: extractName, metric: 'ms_per_doc', value: (extractCpu.wallSeconds * 1000) / envs.length, unit: 'ms' },
    ...cpuRows(extractName, extractCpu, envs.length),
  );

  // The facts step's embedding request per document, in publishing order (a scope's
  // terms grow document by document, as scope_terms does).
  const terms = new Map<string, Record<string, string>>();
  const lists = envs.map((e, i) => {
    const f = facts[i]!;
    const known = terms.get(e.scope) ?? {};
    terms.set(e.scope, addTerms(known, f.acronyms));
    return textsToEmbed(f, { ...known, ...f.acronyms });
  });
  const texts = lists.reduce((a, l) => a + l.length, 0);
  const client = createEmbeddingsClient({ baseUrl: env.FACTS_WORKER_URL, dim: env.EMBEDDING_DIM, timeoutMs: 60_000 });
  const ready = await client.readiness();
  if (!ready.ready) throw new Error(`facts-worker at ${env.FACTS_WORKER_URL} is not ready (${ready.status}: ${ready.error ?? ''}); run npm run services:up`);
  const embedName = `embed-ceiling.${docsName}`;
  process.stderr.write(`[bench] e2e/${embedName}: ${envs.length} documents, ${texts} texts, ${EMBED_CONCURRENCY} request(s) in flight\n`);
  await client.embed(lists.find((l) => l.length > 0) ?? ['warm-up']);
  next = 0;
  const e0 = readCpu(probes);
  await Promise.all(
    Array.from({ length: EMBED_CONCURRENCY }, async () => {
      while (next < lists.length) {
        const l = lists[next++]!;
        if (l.length) await client.embed(l);
      }
    }),
  );
  const embedCpu = cpuBetween(e0, readCpu(probes));
  const embedDocsPerS = envs.length / embedCpu.wallSeconds;
  rows.push(
    { case: embedName, metric: 'documents', value: envs.length, unit: 'docs' },
    { case: embedName, metric: 'texts_per_doc', value: texts / envs.length, unit: 'texts' },
    { case: embedName, metric: 'docs_per_s', value: embedDocsPerS, unit: 'docs/s' },
    { case: embedName, metric: 'texts_per_s', value: texts / embedCpu.wallSeconds, unit: 'texts/s' },
    ...cpuRows(embedName, embedCpu, envs.length),
  );
  return { rows, extractDocsPerS, embedDocsPerS };
}
