// Scopes: create (idempotent), ingest a document, the read-only summary, and the
// convergence history.
import { createRoute } from '@hono/zod-openapi';
import { analyzeConvergence } from '../../../shared/domain/convergence.ts';
import { convergenceConfig, pointFor } from '../../../shared/domain/finality.ts';
import { certificateCount } from '../../../shared/store/certificates.ts';
import { loadHistory } from '../../../shared/store/convergence.ts';
import { previewFinality } from '../../../shared/usecases/finality.ts';
import { listPendingReviews } from '../../../shared/store/reviews.ts';
import type { Scope } from '../../../shared/store/scopes.ts';
import { ensureScope } from '../../../shared/usecases/scopes.ts';
import { loadSnapshot } from '../../../shared/store/snapshot.ts';
import { readState } from '../../../shared/store/state.ts';
import { authorize, mustGetScope, scopeClosed, type ApiApp, type Routes } from '../context.ts';
import { ApiError } from '../errors.ts';
import { bearer, errors, json } from '../openapi.ts';
import { latestFinalityDecision, nodeContents, readOnly } from '../queries.ts';
import { submitDocument as submit } from '../submissions.ts';
import {
  Convergence,
  ConvergenceQuery,
  DocumentAccepted,
  DocumentBody,
  IdempotencyHeader,
  PutScopeBody,
  ScopeInfo,
  ScopeParam,
  Summary,
} from '../schemas.ts';

const putScope = createRoute({
  method: 'put',
  path: '/v1/scopes/{scope}',
  summary: 'Create a scope (idempotent)',
  description: 'Creates the scope, its state row and its OpenFGA link to swarm:main. Permission: ingester on swarm:main.',
  tags: ['scopes'],
  security: bearer,
  request: { params: ScopeParam, body: { content: { 'application/json': { schema: PutScopeBody } }, required: false } },
  responses: {
    200: json(ScopeInfo, 'The scope existed'),
    201: json(ScopeInfo, 'The scope was created'),
    ...errors(400, 401, 403, 409, 413, 415, 503),
  },
});

const submitDocument = createRoute({
  method: 'post',
  path: '/v1/scopes/{scope}/documents',
  summary: 'Submit a document (or a resolution) to a scope',
  description:
    'Publishes doc.submitted; the facts step ingests it. The message id is derived from the document (scope, doc_id, kind, text), so a retry publishes nothing new (duplicate: true). A doc_id is bound to its first text: another text under it is 409 doc_id_conflict. An Idempotency-Key is bound to its first request body: another body is 422 idempotency_key_reused. Permission: ingester on the scope (a principal that cannot read the scope gets 404, as for a missing one).',
  tags: ['scopes'],
  security: bearer,
  request: { params: ScopeParam, headers: IdempotencyHeader, body: { content: { 'application/json': { schema: DocumentBody } }, required: true } },
  responses: { 202: json(DocumentAccepted, 'Published'), ...errors(400, 401, 403, 404, 409, 413, 415, 422, 503) },
});

const getSummary = createRoute({
  method: 'get',
  path: '/v1/scopes/{scope}',
  summary: 'Scope summary (read-only)',
  description:
    'State, epoch, goal score, V, α, the latest finality outcome and a preview of the next, open contradictions, pending reviews. Read in one read-only transaction: reading never changes anything. Permission: reader on the scope.',
  tags: ['scopes'],
  security: bearer,
  request: { params: ScopeParam },
  responses: { 200: json(Summary, 'The summary'), ...errors(400, 401, 403, 404, 503) },
});

const getConvergence = createRoute({
  method: 'get',
  path: '/v1/scopes/{scope}/convergence',
  summary: 'Convergence history',
  description: 'Stored evaluation rounds, their analysis, and the point the current snapshot would add. Permission: reader on the scope.',
  tags: ['scopes'],
  security: bearer,
  request: { params: ScopeParam, query: ConvergenceQuery },
  responses: { 200: json(Convergence, 'History and analysis'), ...errors(400, 401, 403, 404, 503) },
});

const scopeInfo = (s: Scope, created: boolean) => ({ scope: s.scope, status: s.status, mode: s.mode, created_at: s.createdAt.toISOString(), created });

export function scopeRoutes(app: ApiApp, r: Routes): void {
  const { deps, policies } = r;

  app.openapi(putScope, async (c) => {
    const { scope } = c.req.valid('param');
    const { mode } = c.req.valid('json');
    await authorize(r, c, { action: 'scope.create', relation: 'ingester', object: 'swarm:main', scope, write: true });
    // The OpenFGA link is written inside the transaction: if it fails, the row is rolled back.
    const { created } = await deps.db.transaction((tx) => ensureScope(tx, deps.authzAdmin, { scope, mode: mode ?? null }));
    const s = await readOnly(deps.db, (q) => mustGetScope(q, scope));
    if (!created && mode !== undefined && s.mode !== mode) {
      throw new ApiError(409, 'scope_conflict', `scope "${scope}" exists with mode ${s.mode ?? '(from governance.yaml)'}, not ${mode}`);
    }
    if (created) c.header('Location', `/v1/scopes/${scope}`);
    return c.json(scopeInfo(s, created), created ? 201 : 200);
  });

  app.openapi(submitDocument, async (c) => {
    const { scope } = c.req.valid('param');
    const body = c.req.valid('json');
    const key = c.req.valid('header')['Idempotency-Key'];
    const principal = c.get('principal');
    await authorize(r, c, { action: 'document.submit', relation: 'ingester', object: `scope:${scope}`, scope, write: true });
    const s = await readOnly(deps.db, (q) => mustGetScope(q, scope));
    // A paused scope still takes documents (its steps hold); a closed one takes none.
    if (s.hold === 'closed') throw scopeClosed(scope, s);
    const pub = await submit({ db: deps.db, js: deps.js, prefix: deps.env.NATS_SUBJECT_PREFIX }, scope, body, principal, key);
    r.log.info({ scope, doc_id: pub.doc_id, message_id: pub.message_id, duplicate: pub.duplicate, principal }, 'document published');
    return c.json({ scope, ...pub }, 202);
  });

  app.openapi(getSummary, async (c) => {
    const { scope } = c.req.valid('param');
    await authorize(r, c, { action: 'scope.read', relation: 'reader', object: `scope:${scope}`, scope, write: false });
    const body = await readOnly(deps.db, async (q) => {
      const s = await mustGetScope(q, scope);
      const now = new Date();
      const state = await readState(q, scope);
      const { evaluation: ev, rounds } = await previewFinality({ db: q, policies, now: () => now }, scope);
      const { snapshot } = await loadSnapshot(q, scope, policies.finality().policy, now);
      const refs = snapshot.blockers.unresolved_contradictions;
      const nodes = await nodeContents(q, refs.flatMap((x) => [x.source_id, x.target_id]));
      const node = (id: string) => ({ node_id: id, content: nodes.get(id)?.content ?? null, confidence: nodes.get(id)?.confidence ?? null });
      const latest = await latestFinalityDecision(q, scope);
      const pending = await listPendingReviews(q, scope);
      return {
        scope,
        status: s.status,
        mode: s.mode,
        hold: s.hold,
        held_since: s.heldSince?.toISOString() ?? null,
        held_by: s.heldBy,
        created_at: s.createdAt.toISOString(),
        last_activity_at: s.lastActivityAt.toISOString(),
        state: { node: state?.node ?? 'ContextIngested', epoch: state?.epoch ?? 0, updated_at: (state?.updatedAt ?? s.createdAt).toISOString() },
        finality: {
          goal_score: ev.goal_score,
          lyapunov_v: ev.lyapunov_v,
          alpha: ev.convergence.rate,
          eta_rounds: ev.convergence.eta_rounds,
          rounds,
          bottleneck: ev.convergence.bottleneck,
          is_monotonic: ev.convergence.is_monotonic,
          is_plateaued: ev.convergence.plateau.is_plateaued,
          dimensions: ev.dimensions,
          outcome: (latest?.outcome ?? null) as (typeof ev)['outcome'] | null,
          latest_decision: latest,
          preview: { outcome: ev.outcome, reasons: ev.reasons },
        },
        open_contradictions: refs.map((x) => ({ edge_id: x.edge_id, a: node(x.source_id), b: node(x.target_id) })),
        open_contradictions_total: snapshot.contradictions_unresolved_count,
        pending_reviews: pending.map((p) => ({ review_id: p.reviewId, kind: p.kind, created_at: p.createdAt.toISOString() })),
        certificates: await certificateCount(q, scope),
      };
    });
    return c.json(body, 200);
  });

  app.openapi(getConvergence, async (c) => {
    const { scope } = c.req.valid('param');
    const { depth } = c.req.valid('query');
    await authorize(r, c, { action: 'scope.read', relation: 'reader', object: `scope:${scope}`, scope, write: false });
    const p = policies.finality().policy;
    const body = await readOnly(deps.db, async (q) => {
      await mustGetScope(q, scope);
      const history = await loadHistory(q, scope, depth ?? p.convergence.history_depth);
      const { snapshot } = await loadSnapshot(q, scope, p);
      const now = pointFor(snapshot, p);
      return {
        scope,
        rounds: history.map((h) => ({
          round: h.round,
          epoch: h.epoch,
          goal_score: h.goal_score,
          lyapunov_v: h.lyapunov_v,
          dimensions: h.dimensions,
          pressure: h.pressure,
          at: h.createdAt.toISOString(),
        })),
        analysis: { ...analyzeConvergence(history, convergenceConfig(p)) },
        now: { goal_score: now.goal_score, lyapunov_v: now.lyapunov_v, dimensions: now.dimensions, pressure: now.pressure },
        thresholds: { near: p.goal_gradient.near_finality_threshold, auto: p.goal_gradient.auto_finality_threshold },
      };
    });
    return c.json(body, 200);
  });
}

