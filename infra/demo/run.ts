// The main job, as a library (infra/demo/main.ts is the command; the end-to-end
// test calls it too): run the swarm and the HTTP API in this process against the
// real services, feed the documents in order through the API, follow the scope's
// events (server-sent events from the API) and report. With `approve`, answer the
// pending human review the way a reviewer would (approve finality) and continue
// to the certificate.
import { randomBytes } from 'node:crypto';
import { readFileSync, readdirSync } from 'node:fs';
import { basename, join } from 'node:path';
import { serve } from '@hono/node-server';
import { createLocalJWKSet, compactVerify } from 'jose';
import { publishEnvelope } from '../../shared/adapters/bus.ts';
import type { Env } from '../../shared/config.ts';
import { createApi } from '../../functions/api/app.ts';
import { listContradictions, listGoals } from '../../shared/store/contradictions.ts';
import { connectBus, jetStream, type NatsConnection } from '../../shared/adapters/bus.ts';
import { BUS_IDENTITY } from '../../shared/contract/bus-identity.ts';
import { startSwarm, type SwarmRuntime } from '../swarm/runtime.ts';

export interface DemoOptions {
  env: Env;
  docsDir: string;
  scope: string;
  approve: boolean;
  /** Answer governance reviews (a blocked state advance) as approved; default: as `approve`. The eval approves these, never finality. */
  approveGovernance?: boolean;
  /** Progress lines (stdout for the command; collected by tests). */
  print: (line: string) => void;
  /** Longest wait for one document's cycle. */
  perDocTimeoutMs?: number;
  /**
   * Keep the API and the console up after the report (`--serve`): listen on this
   * host and port, print the console's URL and a token per person, and return when
   * `until` settles (the command passes a promise of SIGINT/SIGTERM).
   */
  serve?: { host: string; port: number; until: Promise<unknown> };
}

/** One contradiction in the report (field names are stable: README "The demo report"). */
export interface ContradictionReport {
  subject: string;
  /** Comparison key of the unit: USD, percent, count:patient, date, volume ... */
  metric: string;
  unit: string | null;
  period: string | null;
  /** Both values: as printed (dates as YYYY-MM / YYYY-Qn), as numbers, and who states each with which sentence. */
  values: { value: string; number: number; high: number | null; docs: string[]; sentences: { doc: string; sentence: string; span: [number, number] | null }[] }[];
  resolved: boolean;
  resolved_by: string | null;
  /** The value the resolving document accepted. */
  accepted: string | null;
  /** restated | accepted | withdrawn, and the sentence that settled it. */
  resolution: { how: string; text: string } | null;
}

export interface GoalReport {
  text: string;
  doc: string | null;
  deadline: string | null;
  state: 'open' | 'met' | 'unreachable' | 'superseded';
  by: string | null;
  because: string | null;
}

export interface DemoReport {
  scope: string;
  outcome: string;
  certificate_id: string | null;
  certificate_verified: boolean;
  pending_review: { review_id: string; kind: string } | null;
  score: number;
  lyapunov_v: number;
  rounds: number;
  documents: { doc_id: string; claims: number; goals: number; risks: number; contradictions_found: number; contradictions_resolved: number; drift: string; decisions: string[]; score: number | null; v: number | null; outcome: string | null }[];
  decisions_by_governance_path: Record<string, number>;
  contradictions: ContradictionReport[];
  goals: GoalReport[];
  elapsed_ms: number;
}

interface SwarmEvent {
  type: string;
  payload: Record<string, unknown>;
}

/** Documents of a folder, in name order; licence and readme files are not documents. */
export function listDocuments(dir: string): string[] {
  return readdirSync(dir)
    .filter((f) => /\.(txt|md)$/i.test(f) && !/^(license|licence|readme)/i.test(f))
    .sort()
    .map((f) => join(dir, f));
}

/** Reads a server-sent event stream into a queue that can be awaited event by event. */
class EventFeed {
  #queue: SwarmEvent[] = [];
  #waiters: (() => void)[] = [];
  #closed = false;
  readonly #ctl = new AbortController();

  constructor(url: string, token: string) {
    void this.#read(url, token).catch(() => {});
  }

  async #read(url: string, token: string) {
    const res = await fetch(url, { headers: { authorization: `Bearer ${token}`, accept: 'text/event-stream' }, signal: this.#ctl.signal });
    if (!res.ok || !res.body) throw new Error(`event stream: HTTP ${res.status}`);
    const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
    let buf = '';
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buf += value;
      let i: number;
      while ((i = buf.indexOf('\n\n')) >= 0) {
        const frame = buf.slice(0, i);
        buf = buf.slice(i + 2);
        const data = frame.split('\n').filter((l) => l.startsWith('data:')).map((l) => l.slice(5).trimStart()).join('\n');
        if (!data) continue;
        const env = JSON.parse(data) as SwarmEvent;
        this.#queue.push(env);
        this.#waiters.splice(0).forEach((w) => w());
      }
    }
  }

  /** The next event matching `pred`, skipping (and returning to `seen`) the others. */
  async next(pred: (e: SwarmEvent) => boolean, timeoutMs: number, seen: (e: SwarmEvent) => void = () => {}): Promise<SwarmEvent> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      while (this.#queue.length) {
        const e = this.#queue.shift()!;
        seen(e);
        if (pred(e)) return e;
      }
      if (this.#closed) throw new Error('event stream closed');
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no matching event within ${timeoutMs} ms`);
      await new Promise<void>((r) => {
        const t = setTimeout(r, left);
        this.#waiters.push(() => {
          clearTimeout(t);
          r();
        });
      });
    }
  }

  close() {
    this.#closed = true;
    this.#ctl.abort();
  }
}

export async function runDemo(o: DemoOptions): Promise<DemoReport> {
  const t0 = Date.now();
  const ingestToken = randomBytes(18).toString('base64url');
  const reviewerToken = randomBytes(18).toString('base64url');
  const people = { 'user:analyst': randomBytes(18).toString('base64url'), 'user:auditor': randomBytes(18).toString('base64url') };
  // The demo's API accepts the swarm's ingest identity, one human reviewer (user:operator)
  // and, for the console, an analyst and an auditor (their roles: infra/openfga/tuples.yaml).
  const env: Env = {
    ...o.env,
    API_TOKEN: ingestToken,
    API_TOKENS: [`${reviewerToken}=user:operator`, ...Object.entries(people).map(([p, t]) => `${t}=${p}`)].join(','),
    API_DEV_MODE: false,
  };
  const perDoc = o.perDocTimeoutMs ?? 60_000;
  let swarm: SwarmRuntime | undefined;
  let apiNc: NatsConnection | undefined;
  let server: ReturnType<typeof serve> | undefined;
  let feed: EventFeed | undefined;
  // Ends the API's event streams (and deletes their consumers) before NATS is drained.
  const stopping = new AbortController();
  try {
    swarm = await startSwarm(env);
    // The API publishes as itself: the bridge's credentials cannot submit a document.
    apiNc = await connectBus(env, 'demo', BUS_IDENTITY.api);
    // The API on the swarm's container: one set of clients and breakers for the process.
    const { deps } = swarm;
    const api = createApi({ env, db: deps.db, authz: deps.authz, authzAdmin: deps.authzAdmin, policies: deps.policies, nc: apiNc, js: (await jetStream(apiNc)).js, shutdown: stopping.signal });
    const base = await new Promise<string>((resolve) => {
      const host = o.serve?.host ?? '127.0.0.1';
      server = serve({ fetch: api.fetch, port: o.serve?.port ?? 0, hostname: host }, (info) => resolve(`http://${host}:${info.port}`));
    });
    const call = async (method: string, path: string, body?: unknown, token = ingestToken) => {
      const res = await fetch(base + path, {
        method,
        headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) },
        ...(body ? { body: JSON.stringify(body) } : {}),
      });
      const json = (await res.json()) as Record<string, unknown>;
      if (!res.ok) throw new Error(`${method} ${path}: HTTP ${res.status} ${JSON.stringify(json)}`);
      return json;
    };

    await call('PUT', `/v1/scopes/${o.scope}`, {});
    feed = new EventFeed(`${base}/v1/scopes/${o.scope}/events`, ingestToken);
    await new Promise((r) => setTimeout(r, 200)); // the stream's consumer is in place before the first document
    const docs = listDocuments(o.docsDir);
    if (docs.length === 0) throw new Error(`no documents (*.txt, *.md) in ${o.docsDir}`);
    o.print(`Governed Swarm demo: scope ${o.scope}, ${docs.length} document(s) from ${o.docsDir}${o.approve ? ', --approve' : ''}`);

    const report: DemoReport['documents'] = [];
    let blocked: { review_id: string; kind: string } | null = null;
    for (const [i, path] of docs.entries()) {
      const text = readFileSync(path, 'utf8');
      const docId = basename(path).replace(/\.[^.]+$/, '').replace(/[^A-Za-z0-9._-]/g, '-');
      const title = text.split('\n').find((l) => l.trim())?.trim().slice(0, 300) ?? docId;
      await call('POST', `/v1/scopes/${o.scope}/documents`, { doc_id: docId, title, text });
      const row: DemoReport['documents'][number] = { doc_id: docId, claims: 0, goals: 0, risks: 0, contradictions_found: 0, contradictions_resolved: 0, drift: '-', decisions: [], score: null, v: null, outcome: null };
      const seen = (e: SwarmEvent) => {
        const p = e.payload;
        if (e.type === 'facts.extracted' && p.doc_id === docId) {
          Object.assign(row, { claims: p.claims, goals: p.goals, risks: p.risks, contradictions_found: p.contradictions_found, contradictions_resolved: p.contradictions_resolved });
        } else if (e.type === 'drift.assessed') {
          row.drift = `${p.level}${(p.types as string[]).length ? ` (${(p.types as string[]).join(', ')})` : ''}`;
        } else if (e.type === 'action.approved') {
          row.decisions.push(`${p.from}→${p.to} approved`);
        } else if (e.type === 'review.requested' && p.kind === 'governance_review') {
          row.decisions.push('human review requested');
        }
      };
      // The document's cycle ends with a finality round, or stops at a governance review.
      for (;;) {
        const e = await feed.next((x) => x.type === 'finality.decided' || (x.type === 'review.requested' && x.payload.kind === 'governance_review'), perDoc, seen);
        if (e.type === 'finality.decided') {
          Object.assign(row, { score: e.payload.goal_score, v: e.payload.lyapunov_v, outcome: e.payload.outcome });
          break;
        }
        const reviewId = String(e.payload.review_id);
        if (!(o.approveGovernance ?? o.approve)) {
          blocked = { review_id: reviewId, kind: 'governance_review' };
          break;
        }
        o.print(`      governance review ${reviewId}: approving as a human (--approve)`);
        await call('POST', `/v1/reviews/${reviewId}/respond`, { option: 'approve', note: 'approved by the demo (--approve)' }, reviewerToken);
      }
      report.push(row);
      o.print(
        `[${i + 1}/${docs.length}] ${docId}: ${row.claims} claims, ${row.goals} goals, ${row.risks} risks | contradictions +${row.contradictions_found} found, ${row.contradictions_resolved} resolved | drift ${row.drift} | ${row.decisions.length} governance decision(s) | ` +
          (row.score === null ? 'waiting for a human' : `score ${Number(row.score).toFixed(3)}  V ${Number(row.v).toFixed(3)} → ${row.outcome}`),
      );
      if (blocked) break;
    }

    // Time passing is evidence too (quiescence): one more finality round once the documents are in,
    // as the bridge's timer would run it, so a scope that has settled can be certified.
    if (!blocked && report.at(-1)?.outcome !== null) {
      await publishEnvelope(swarm.js, env.NATS_SUBJECT_PREFIX, { id: `settle:${o.scope}:${docs.length}`, scope: o.scope, type: 'finality.evaluate', payload: { reason: 'demo: documents in, scope settling' }, attempt: 1, source: 'demo', ts: new Date().toISOString() });
      const e = await feed.next((x) => x.type === 'finality.decided', perDoc);
      o.print(`[settle] one more finality round with nothing new: score ${Number(e.payload.goal_score).toFixed(3)}  V ${Number(e.payload.lyapunov_v).toFixed(3)} → ${e.payload.outcome}`);
    }
    let summary = await call('GET', `/v1/scopes/${o.scope}`);
    let pending = (summary.pending_reviews as { review_id: string; kind: string }[]) ?? [];
    let certificateId: string | null = null;
    const finalityReview = pending.find((r) => r.kind === 'finality_review');
    if (finalityReview && o.approve && !blocked) {
      o.print(`Finality review ${finalityReview.review_id} pending: approving finality as a human (--approve)`);
      await call('POST', `/v1/reviews/${finalityReview.review_id}/respond`, { option: 'approve_finality', note: 'approved by the demo (--approve)' }, reviewerToken);
      const e = await feed.next((x) => x.type === 'finality.decided', perDoc);
      certificateId = (e.payload.certificate_id as string | null) ?? null;
      summary = await call('GET', `/v1/scopes/${o.scope}`);
      pending = (summary.pending_reviews as { review_id: string; kind: string }[]) ?? [];
    }
    const fin = summary.finality as { outcome: string | null; goal_score: number; lyapunov_v: number; rounds: number };
    const certs = (await call('GET', `/v1/scopes/${o.scope}/certificates`)).certificates as { certificate_id: string }[];
    certificateId ??= certs.at(-1)?.certificate_id ?? null;

    // Anyone can check the certificate with nothing but the published JWKS.
    let verified = false;
    if (certificateId) {
      const cert = await call('GET', `/v1/certificates/${certificateId}`);
      const jwks = (await fetch(`${base}/.well-known/jwks.json`).then((r) => r.json())) as Parameters<typeof createLocalJWKSet>[0];
      await compactVerify(String(cert.jws), createLocalJWKSet(jwks));
      verified = true;
    }

    const db = swarm.deps.db;
    const paths = await db.query<{ governance_path: string; n: string }>('SELECT governance_path, count(*) AS n FROM decision_records WHERE scope_id = $1 GROUP BY 1 ORDER BY 1', [o.scope]);
    // Each contradiction with the documents (and sentences) stating each value now, and what settled it.
    const contradictions: ContradictionReport[] = (await listContradictions(db, o.scope)).map((c) => ({
      subject: c.subject,
      metric: c.metric,
      unit: c.unit,
      period: c.period,
      // Lower value first: the same run gives the same report (node ids, which order the edge, are random).
      values: c.sides.map((s) => ({ value: s.display, number: s.value.value, high: s.value.high ?? null, docs: [...s.docs].sort(), sentences: s.stated_by })).sort((x, y) => x.number - y.number),
      resolved: c.status === 'resolved',
      resolved_by: c.resolved_by,
      accepted: c.accepted,
      resolution: c.resolution ? { how: c.resolution.how, text: c.resolution.text } : null,
    }));
    const goals: GoalReport[] = (await listGoals(db, o.scope)).map((g) => ({ text: g.text, doc: g.doc, deadline: g.deadline, state: g.state, by: g.by, because: g.because }));

    const outcome = blocked ? 'BLOCKED_ON_REVIEW' : (fin.outcome ?? 'ACTIVE');
    const pendingReview = blocked ?? (pending[0] ? { review_id: pending[0].review_id, kind: pending[0].kind } : null);
    o.print('');
    o.print(`Outcome: ${outcome}${certificateId ? `, certificate ${certificateId} (verified with the published JWKS)` : ''}`);
    o.print(`Goal score ${fin.goal_score.toFixed(3)}, V ${fin.lyapunov_v.toFixed(4)}, ${fin.rounds} round(s)`);
    for (const c of contradictions) {
      o.print(`Contradiction: ${c.subject} (${c.unit ?? c.metric}${c.period ? ', ' + c.period : ''}): ${c.values.map((v) => `${v.value} in ${v.docs.join(', ')}`).join(' vs ')} — ${c.resolved ? `resolved by ${c.resolved_by ?? '?'}${c.accepted ? `, ${c.accepted} accepted` : ''}` : 'open'}`);
    }
    for (const g of goals) o.print(`Goal (${g.state}${g.by ? ` by ${g.by}` : ''}): ${g.text}${g.deadline ? ` [due ${g.deadline}]` : ''}`);
    if (pendingReview) o.print(`Pending human review: ${pendingReview.review_id} (${pendingReview.kind}); answer it with POST /v1/reviews/${pendingReview.review_id}/respond, or run the demo with --approve`);
    if (o.serve) {
      o.print('');
      o.print(`Console: ${base}/ui/#/scopes/${o.scope}`);
      o.print(`  sign in as user:operator (answers reviews):              ${reviewerToken}`);
      o.print(`  sign in as user:analyst  (opens scopes, adds documents): ${people['user:analyst']}`);
      o.print(`  sign in as user:auditor  (reads only):                   ${people['user:auditor']}`);
      o.print('The swarm keeps running; Ctrl-C stops it.');
      await o.serve.until;
    }
    return {
      scope: o.scope,
      outcome,
      certificate_id: certificateId,
      certificate_verified: verified,
      pending_review: pendingReview,
      score: fin.goal_score,
      lyapunov_v: fin.lyapunov_v,
      rounds: fin.rounds,
      documents: report,
      decisions_by_governance_path: Object.fromEntries(paths.rows.map((r) => [r.governance_path, Number(r.n)])),
      contradictions,
      goals,
      elapsed_ms: Date.now() - t0,
    };
  } finally {
    stopping.abort();
    await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
    feed?.close();
    await apiNc?.drain().catch(() => {});
    await swarm?.stop();
  }
}
