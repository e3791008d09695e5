// End to end on the real services with the offline defaults: the five Acme
// documents through the HTTP API to the swarm (bridge + every step in-process),
// as `npm run demo -- --approve` runs them. Twice, each from a clean database.
import { InMemorySpanExporter, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createS3, ensureBucket } from '../../shared/adapters/s3.ts';
import { initTelemetry, type Telemetry } from '../../shared/adapters/telemetry.ts';
import type { Env } from '../../shared/config.ts';
import { runDemo, type DemoReport } from '../../infra/demo/run.ts';
import { freshDatabase, type TestDatabase } from '../support/db.ts';
import { uniq } from '../support/ids.ts';
import { ACME_DIR } from '../support/swarm.ts';

const exporter = new InMemorySpanExporter();
let telemetry: Telemetry;
const dbs: TestDatabase[] = [];

async function cleanRun(): Promise<{ report: DemoReport; db: TestDatabase; lines: string[] }> {
  const db = await freshDatabase();
  dbs.push(db);
  const id = uniq('');
  const env: Env = {
    ...db.env,
    LOG_LEVEL: 'silent',
    NATS_STREAM: `E2E_${id}`,
    NATS_DLQ_STREAM: `E2E_${id}_DLQ`,
    NATS_SUBJECT_PREFIX: `e2e${id}`,
    S3_BUCKET: `e2e-${id}`,
  };
  await ensureBucket(createS3(env), env.S3_BUCKET);
  const lines: string[] = [];
  const report = await runDemo({ env, docsDir: ACME_DIR, scope: 'acme', approve: true, print: (l) => lines.push(l) });
  return { report, db, lines };
}

let first: Awaited<ReturnType<typeof cleanRun>>;
let second: Awaited<ReturnType<typeof cleanRun>>;
let spans: ReadableSpan[];

beforeAll(async () => {
  telemetry = initTelemetry({ OTEL_EXPORTER_OTLP_ENDPOINT: '', OTEL_SERVICE_NAME: 'e2e' }, { exporter });
  first = await cleanRun();
  spans = exporter.getFinishedSpans();
  second = await cleanRun();
}, 120_000);

afterAll(async () => {
  await telemetry?.shutdown();
  for (const d of dbs) await d.drop();
});

describe('the Acme scenario, end to end', () => {
  it('detects the hiring-target contradiction once both figures are known, and resolves it after the board follow-up', () => {
    const docs = first.report.documents;
    expect(docs.map((d) => d.contradictions_found)).toEqual([0, 1, 0, 0, 0]);
    expect(docs.map((d) => d.contradictions_resolved)).toEqual([0, 0, 0, 0, 1]);
    expect(first.report.contradictions).toHaveLength(1);
    const [c] = first.report.contradictions;
    expect(c).toMatchObject({ metric: 'count:engineer', resolved: true, resolved_by: '05-follow-up', accepted: '15+', resolution: { how: 'restated' } });
    expect(c!.values.map((v) => v.value).sort()).toEqual(['15+', '20']);
    expect(c!.values.find((v) => v.value === '20')!.docs).toContain('01-announcement');
    expect(c!.values.find((v) => v.value === '15+')!.docs).toContain('02-strategy-memo');
    // Each value with the sentence that states it.
    expect(c!.values.find((v) => v.value === '20')!.sentences[0]).toMatchObject({ doc: '01-announcement', sentence: expect.stringContaining('hire approximately 20 engineers in Q4') });
    // The goals the report gives, with their state.
    expect(first.report.goals.find((g) => /onboard 15\+ engineers/.test(g.text))).toMatchObject({ state: 'open', deadline: '2024-12-31' });
    // The target the board revised (20 → 15) supersedes the goal that set 20.
    expect(first.report.goals.find((g) => /hire approximately 20 engineers/.test(g.text))).toMatchObject({ state: 'superseded', by: '05-follow-up' });
  });

  it('cycles the scope state once per document', async () => {
    const { rows } = await first.db.pool.query<{ seq: string; payload: { from: string; to: string; epoch: number } }>(
      `SELECT seq, payload FROM context_log WHERE scope_id = 'acme' AND kind = 'state_transition' ORDER BY seq`,
    );
    expect(rows).toHaveLength(15);
    const cycle = ['ContextIngested', 'FactsExtracted', 'DriftChecked'];
    rows.forEach((r, i) => {
      expect([r.payload.from, r.payload.to]).toEqual([cycle[i % 3], cycle[(i + 1) % 3]]);
      expect(r.payload.epoch).toBe(i + 1);
    });
    const state = await first.db.pool.query<{ node: string; epoch: string }>(`SELECT node, epoch FROM scope_state WHERE scope_id = 'acme'`);
    expect(state.rows[0]).toEqual({ node: 'ContextIngested', epoch: '15' });
  });

  it('keeps a decision record, with its governance path and policy version, for every decision', async () => {
    const { rows } = await first.db.pool.query<{ proposal_id: string; decision: string; governance_path: string; policy_version: string; tier: number }>(
      `SELECT proposal_id, decision, governance_path, policy_version, tier FROM decision_records WHERE scope_id = 'acme'`,
    );
    expect(rows).toHaveLength(15);
    for (const r of rows) {
      expect(r.governance_path).toBe('processProposal'); // no model: tier 1 decides
      expect(r.tier).toBe(1);
      expect(r.policy_version).toMatch(/^[0-9a-f]{64}$/);
      expect(r.decision).toBe('approve');
    }
    expect(new Set(rows.map((r) => r.proposal_id)).size).toBe(15);
    expect(first.report.decisions_by_governance_path).toEqual({ processProposal: 15 });
  });

  it('grows the convergence history by one row per evaluation round', async () => {
    const rounds = await first.db.pool.query<{ round: number; message_id: string }>(`SELECT round, message_id FROM convergence_history WHERE scope_id = 'acme' ORDER BY round`);
    const decisions = await first.db.pool.query<{ round: number }>(`SELECT round FROM finality_decisions WHERE scope_id = 'acme' AND round IS NOT NULL ORDER BY round`);
    // Five cycles, the round once the documents are in (as the timer would run it), and the one after
    // the human's approval; reads (the summary) add none.
    expect(rounds.rows.map((r) => r.round)).toEqual([1, 2, 3, 4, 5, 6, 7]);
    expect(decisions.rows.map((r) => r.round)).toEqual([1, 2, 3, 4, 5, 6, 7]);
    expect(new Set(rounds.rows.map((r) => r.message_id)).size).toBe(7);
    expect(rounds.rows[5]!.message_id).toBe('settle:acme:5');
    expect(first.report.rounds).toBe(7);
  });

  it('ends in a defined outcome: a review, then a verified certificate after the human approval', () => {
    expect(first.report.documents.at(-1)!.outcome).toBe('REVIEW');
    expect(first.report.outcome).toBe('RESOLVED');
    expect(first.report.certificate_id).toMatch(/^[0-9a-f-]{36}$/);
    expect(first.report.certificate_verified).toBe(true);
    expect(first.report.pending_review).toBeNull();
  });

  it('links the ingest request to the certificate in one trace', () => {
    const cert = spans.find((s) => s.attributes['gswarm.certificate_id'] === first.report.certificate_id);
    expect(cert, 'a span names the certificate').toBeDefined();
    const inTrace = spans.filter((s) => s.spanContext().traceId === cert!.spanContext().traceId);
    const names = new Set(inTrace.map((s) => s.name));
    // The HTTP request that ingested a document started this trace...
    expect(names).toContain('POST /v1/scopes/:scope/documents');
    // ...and every agent's step ran in it, across NATS, up to the certificate.
    for (const step of ['facts', 'drift', 'planner', 'governance', 'executor', 'finality']) expect(names, step).toContain(`step ${step}`);
    // The human's answer joined it (its HTTP request is linked from the answer's span).
    expect(names).toContain('review respond finality_review');
    const answer = inTrace.find((s) => s.name === 'review respond finality_review')!;
    const request = spans.find((s) => s.name === 'POST /v1/reviews/:id/respond')!;
    expect(answer.links.map((l) => l.context.spanId)).toContain(request.spanContext().spanId);
  });

  it('gives the same outcome when run again from a clean database', () => {
    const strip = (r: DemoReport) => ({
      outcome: r.outcome,
      score: r.score,
      v: r.lyapunov_v,
      rounds: r.rounds,
      contradictions: r.contradictions,
      decisions: r.decisions_by_governance_path,
      documents: r.documents,
    });
    expect(strip(second.report)).toEqual(strip(first.report));
    expect(second.report.certificate_id).not.toBe(first.report.certificate_id);
  });
});
