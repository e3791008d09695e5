// Per-file setup for the agent step tests: the real services (a database of the
// file's own, an S3 bucket of its own, the shared OpenFGA store and facts-worker),
// deps bound to them, and helpers to build envelopes, invoke a step and read rows.
// Only the language model is scripted (t.depsWith({ model }), an override of the container).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'vitest';
import { createAuthzAdmin, type AuthzAdmin } from '../../shared/adapters/authz.ts';
import { createS3, ensureBucket } from '../../shared/adapters/s3.ts';
import type { Env } from '../../shared/config.ts';
import type { Envelope } from '../../shared/contract/envelope.ts';
import type { StepResponse, StepSuccess } from '../../shared/contract/result.ts';
import { createDeps, type Deps, type DepsOverrides } from '../../shared/runtime/deps.ts';
import { guardPool, type GuardedPool } from '../../shared/runtime/guarded.ts';
import type { Step } from '../../shared/runtime/step.ts';
import { ensureScope } from '../../shared/usecases/scopes.ts';
import { recordAnswer } from './answers.ts';
import { freshDatabase, type TestDatabase } from './db.ts';
import { uniq } from './ids.ts';

export const ACME_DIR = join(import.meta.dirname, '../../infra/demo/scenarios/acme');
const ACME_FILES = ['01-announcement.txt', '02-strategy-memo.txt', '03-meeting-notes.txt', '04-product-brief.txt', '05-follow-up.txt'] as const;

/** Acme document n (1-5) as a doc.submitted payload. */
export function acme(n: 1 | 2 | 3 | 4 | 5, over: Record<string, unknown> = {}): Record<string, unknown> {
  const text = readFileSync(join(ACME_DIR, ACME_FILES[n - 1]!), 'utf8');
  return { doc_id: `acme-${n}`, title: text.split('\n')[0]!.trim(), text, kind: 'document', submitted_by: 'test', ...over };
}

export interface SwarmTestEnv {
  env: Env;
  db: TestDatabase;
  /** The database behind its own breaker, shared by every Deps of the file. */
  guarded: GuardedPool;
  bucket: string;
  admin: AuthzAdmin;
  /** Offline deps: no model, the real facts-worker. */
  deps: Deps;
  /** Another Deps on the same database and bucket, with some members replaced (a model, the clock...), some settings changed, or another authorizer. */
  depsWith(overrides?: Omit<DepsOverrides, 'env' | 'db'>, env?: Partial<Env>, deps?: Pick<DepsOverrides, 'authz'>): Deps;
  /** A new scope, created and linked to the swarm in OpenFGA (ContextIngested, epoch 0). */
  scope(prefix?: string, opts?: { linked?: boolean; mode?: 'YOLO' | 'MITL' | 'MASTER' }): Promise<string>;
  close(): Promise<void>;
}

export async function swarmTestEnv(): Promise<SwarmTestEnv> {
  const db = await freshDatabase();
  const bucket = uniq('fn-');
  const env: Env = { ...db.env, S3_BUCKET: bucket, LOG_LEVEL: 'silent' };
  await ensureBucket(createS3(env), bucket);
  const guarded = guardPool(db.pool, undefined, uniq('pg-'));
  const admin = createAuthzAdmin(env);
  const depsWith = (overrides: Omit<DepsOverrides, 'env' | 'db'> = {}, over: Partial<Env> = {}, extra: Pick<DepsOverrides, 'authz'> = {}): Deps =>
    createDeps({ ...extra, ...overrides, env: { ...env, ...over }, db: guarded });
  return {
    env,
    db,
    guarded,
    bucket,
    admin,
    deps: depsWith(),
    depsWith,
    async scope(prefix = 's-', opts = {}) {
      const scope = uniq(prefix);
      await ensureScope(guarded, opts.linked === false ? null : admin, { scope, ...(opts.mode ? { mode: opts.mode } : {}) });
      return scope;
    },
    close: () => db.drop(),
  };
}

/** An envelope as the bridge would deliver it. */
export function envelope(type: string, scope: string, payload: Record<string, unknown>, id: string = uniq('m-')): Envelope {
  return { id, scope, type, payload, attempt: 1, source: 'test' };
}

/** Invoke a step with these deps; the raw StepResponse. */
export function invoke(step: Step, deps: Deps, msg: Envelope | string): Promise<StepResponse> {
  return step.withDeps(deps).invoke(typeof msg === 'string' ? msg : JSON.stringify(msg));
}

/** Invoke and insist on success (the failure's code and message in the assertion otherwise). */
export async function run(step: Step, deps: Deps, msg: Envelope): Promise<StepSuccess> {
  const res = await invoke(step, deps, msg);
  if (!res.ok) expect.fail(`${step.name} failed on ${msg.type}: ${res.error.class} ${res.error.code}: ${res.error.message}`);
  return res as StepSuccess;
}

/** The one emitted message of this type (fails if there are none or several). */
export function emitted(res: StepSuccess, type: string): Envelope {
  const found = res.emit.filter((e) => e.type === type);
  expect(found, `${type} among ${res.emit.map((e) => e.type).join(', ') || 'no messages'}`).toHaveLength(1);
  return found[0]!;
}

export const types = (res: StepSuccess): string[] => res.emit.map((e) => e.type);

/** Rows of a query. */
export async function rows<R = Record<string, unknown>>(t: SwarmTestEnv, sql: string, params: unknown[] = []): Promise<R[]> {
  return (await t.db.pool.query(sql, params)).rows as R[];
}

export async function count(t: SwarmTestEnv, sql: string, params: unknown[] = []): Promise<number> {
  const r = await rows<{ n: string | number }>(t, sql, params);
  return Number(r[0]!.n);
}

/** Context-log entries of a scope (optionally of some kinds), oldest first. */
export function logEntries(t: SwarmTestEnv, scope: string, kinds?: string[]) {
  return rows<{ seq: string; kind: string; source: string; message_id: string | null; payload: Record<string, unknown> }>(
    t,
    `SELECT seq, kind, source, message_id, payload FROM context_log WHERE scope_id = $1 ${kinds ? 'AND kind = ANY($2)' : ''} ORDER BY seq`,
    kinds ? [scope, kinds] : [scope],
  );
}

export interface Delivery {
  step: string;
  msg: Envelope;
  res: StepSuccess;
}

/**
 * Deliver messages to every step that consumes them, and what those steps emit in
 * turn, until nothing is left (the bridge's job, in order, one at a time). Steps
 * named in `skip` do not receive anything (e.g. status, when a test counts its runs).
 * Returns every delivery, in order.
 */
export async function settle(steps: readonly Step[], deps: Deps, msgs: Envelope[], opts: { skip?: string[]; max?: number } = {}): Promise<Delivery[]> {
  const queue = [...msgs];
  const out: Delivery[] = [];
  const max = opts.max ?? 200;
  while (queue.length) {
    const msg = queue.shift()!;
    for (const s of steps.filter((x) => x.consumes.includes(msg.type) && !opts.skip?.includes(x.name))) {
      if (out.length >= max) expect.fail(`settle: more than ${max} deliveries`);
      const res = await run(s, deps, msg);
      out.push({ step: s.name, msg, res });
      queue.push(...res.emit);
    }
  }
  return out;
}

/**
 * An action.approved backed by a decision record, as governance would leave it (for
 * executor tests that start mid-cycle); the executor applies no approval without one.
 */
export async function recordedApproval(t: SwarmTestEnv, scope: string, a: { from: string; to: string; expected_epoch: number }): Promise<Envelope> {
  const proposalId = `${scope}/${uniq('p-')}`;
  const [row] = await rows<{ decision_id: string }>(
    t,
    `INSERT INTO decision_records (scope_id, proposal_id, message_id, proposer, action, from_node, to_node, decision, obligations, policy_version, governance_path, tier, mode)
     VALUES ($1, $2, $3, 'agent:test', 'advance_state', $4, $5, 'approve', $6, 'test', 'auto', 1, 'YOLO') RETURNING decision_id`,
    [scope, proposalId, uniq('m-'), a.from, a.to, JSON.stringify([{ type: 'advance_state', ...a }])],
  );
  return envelope('action.approved', scope, { proposal_id: proposalId, decision_id: row!.decision_id, approved_by: 'governance:tier1', ...a });
}

/**
 * A human's answer to a review as the API publishes it: the responder holds the reviewer
 * relation (OpenFGA), the API recorded the answer (access_log row), and the payload names that row.
 */
export async function humanAnswer(
  t: SwarmTestEnv,
  scope: string,
  answer: { review_id: string; kind: 'governance_review' | 'finality_review'; option: string; responder: string; note?: string; days?: number; amendments?: Record<string, unknown> },
): Promise<Envelope> {
  await t.admin.write([{ user: answer.responder, relation: 'reviewer', object: `scope:${scope}` }]);
  const accessId = await recordAnswer(t.db.pool, { scope, reviewId: answer.review_id, by: answer.responder });
  return envelope('review.responded', scope, { ...answer, access_id: accessId });
}
