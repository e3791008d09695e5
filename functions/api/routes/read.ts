// The read API behind the web console: the scopes a principal can read, what it may do,
// a scope's facts, timeline, decision records and briefings, the cross-scope review
// inbox, and a scope's state and graph as of a past instant. Read-only (every query in
// readOnly()), authorized (OpenFGA; a scope the caller cannot read is 404, as a missing
// one), paged, and bounded by a validated `limit`.
import { createRoute, type RouteConfig } from '@hono/zod-openapi';
import type { CheckRequest } from '../../../shared/adapters/authz.ts';
import { ScopeId } from '../../../shared/contract/envelope.ts';
import {
  contextLogPage,
  currentContradictions,
  decisionPage,
  documentTitles,
  epochStart,
  graphKnownAt,
  reviewCandidates,
  scopeIdsAfter,
  scopeOverviews,
  stateAt,
  statingSentences,
} from '../../../shared/store/read-models.ts';
import { currentNodesById, queryNodes, type GraphNode } from '../../../shared/store/graph.ts';
import { getReviews } from '../../../shared/store/reviews.ts';
import { authorize, mustGetScope, type ApiContext, type Routes } from '../context.ts';
import { cursorSeal } from '../cursor.ts';
import { ApiError } from '../errors.ts';
import { bearer, errors, json } from '../openapi.ts';
import { readOnly } from '../queries.ts';
import { deadlinesOf, reviewJson } from '../review-json.ts';
import {
  AsOf,
  AsOfQuery,
  Briefings,
  BriefingsQuery,
  Decisions,
  DecisionsQuery,
  Facts,
  FactsQuery,
  Inbox,
  InboxQuery,
  Me,
  ScopeListing,
  ScopePermissions,
  ScopesQuery,
  Timeline,
  TimelineQuery,
} from '../read-schemas.ts';
import { ScopeParam } from '../schemas.ts';
import { summarize, trimPayload } from '../timeline.ts';

/**
 * Candidates a permission-filtered page examines at most: a principal that can read few
 * of many scopes gets a short page and a cursor instead of one request checking them all.
 */
export const MAX_SCAN = 1000;
/**
 * Checks per checkAll call: the authorizer sends them in OpenFGA BatchChecks of 50 (a
 * round trip each, up to 4 at once), not one request per scope as before (~10 ms each:
 * 194 scopes took 1.7-2.4 s).
 */
const CHECK_CHUNK = 200;

/** A GET of one scope's data: the same errors for each. */
const get = <P extends string, Req extends NonNullable<RouteConfig['request']>, Ok extends ReturnType<typeof json>>(path: P, summary: string, description: string, tag: string, request: Req, ok: Ok) =>
  createRoute({ method: 'get', path, summary, description, tags: [tag], security: bearer, request, responses: { 200: ok, ...errors(400, 401, 403, 404, 503) } });

const listScopes = createRoute({
  method: 'get',
  path: '/v1/scopes',
  summary: 'The scopes the principal can read, by id',
  description: `One line per scope: status, state, the latest stored round's goal score and V, the latest finality outcome, counts. Only scopes the principal has reader on (OpenFGA) are listed; a page examines at most ${MAX_SCAN} scopes, so it may be short and still have a next_after.`,
  tags: ['console'],
  security: bearer,
  request: { query: ScopesQuery },
  responses: { 200: json(ScopeListing, 'A page of scopes'), ...errors(400, 401, 503) },
});

const me = createRoute({
  method: 'get',
  path: '/v1/me',
  summary: 'Who the token is, and what it may do across the swarm',
  description: 'ingester and reviewer on swarm:main (OpenFGA). For showing controls only: every request is still checked.',
  tags: ['console'],
  security: bearer,
  responses: { 200: json(Me, 'The principal'), ...errors(401, 503) },
});

const permissions = get(
  '/v1/scopes/{scope}/permissions',
  'What the principal may do on a scope',
  'reader, ingester, reviewer and operator on the scope (OpenFGA). For showing controls only: every request is still checked. Permission: reader on the scope.',
  'console',
  { params: ScopeParam },
  json(ScopePermissions, 'Relations'),
);

const facts = get(
  '/v1/scopes/{scope}/facts',
  "A scope's current facts",
  'Current versions of claims (with the sentence stating each figure), goals, risks, and contradictions with both sides, their sources and what resolved them. Each list holds at most `limit`; truncated says one was cut. Permission: reader on the scope.',
  'console',
  { params: ScopeParam, query: FactsQuery },
  json(Facts, 'Facts'),
);

const timeline = get(
  '/v1/scopes/{scope}/timeline',
  "A scope's context log, newest first",
  'Paged by sequence: pass next_before as before. Each entry has one human line (summary) and its payload, trimmed. Permission: reader on the scope.',
  'console',
  { params: ScopeParam, query: TimelineQuery },
  json(Timeline, 'Entries'),
);

const decisions = get(
  '/v1/scopes/{scope}/decisions',
  "A scope's governance decision records, newest first",
  'Paged: pass next_before as before. Permission: reader on the scope.',
  'console',
  { params: ScopeParam, query: DecisionsQuery },
  json(Decisions, 'Decision records'),
);

const briefings = get(
  '/v1/scopes/{scope}/briefings',
  "A scope's briefings (status cards), newest first",
  'Permission: reader on the scope.',
  'console',
  { params: ScopeParam, query: BriefingsQuery },
  json(Briefings, 'Briefings'),
);

const inbox = createRoute({
  method: 'get',
  path: '/v1/reviews',
  summary: 'The review inbox: reviews the principal may answer, across scopes, oldest first',
  description: `Only reviews in scopes where the principal is a reviewer, and reviews escalated by their deadline to a group the principal is a member of (OpenFGA); anyone else gets an empty list. A page examines at most ${MAX_SCAN} reviews.`,
  tags: ['reviews'],
  security: bearer,
  request: { query: InboxQuery },
  responses: { 200: json(Inbox, 'A page of reviews'), ...errors(400, 401, 503) },
});

const asOf = get(
  '/v1/scopes/{scope}/as-of',
  "A scope's state and graph as of a past instant or epoch",
  'State from the state transitions of the context log; graph as the database knew it then (recorded by then, not yet superseded). Exactly one of at and epoch (the instant the scope entered that epoch). Permission: reader on the scope.',
  'console',
  { params: ScopeParam, query: AsOfQuery },
  json(AsOf, 'State and graph then'),
);

const authzDown = (detail?: string) =>
  new ApiError(503, 'authz_unavailable', `permission check failed closed: ${detail ?? 'OpenFGA did not answer'}`, { headers: { 'Retry-After': '2' } });

/** Which of these objects the principal has `relation` on. OpenFGA unreachable: 503, never a guess. */
async function allowedObjects(r: Routes, principal: string, relation: string, objects: readonly string[]): Promise<Set<string>> {
  const out = new Set<string>();
  for (let i = 0; i < objects.length; i += CHECK_CHUNK) {
    const reqs: CheckRequest[] = objects.slice(i, i + CHECK_CHUNK).map((object) => ({ user: principal, relation, object }));
    const { results } = await r.authz.checkAll(reqs);
    for (const res of results) {
      if (res.reason === 'unavailable' || res.reason === 'unconfigured') throw authzDown(res.detail);
      if (res.allowed) out.add(res.object);
    }
  }
  return out;
}

/**
 * Fill a page from candidates in order, keeping those `visible` says the principal may
 * see, fetching more while the page is short, at most MAX_SCAN candidates. `more`: rows
 * may follow the page (its last row is then the cursor). `stoppedAt`: the scan ran out
 * before the page filled; the next page starts after this (possibly hidden) candidate.
 */
async function fillPage<T>(
  limit: number,
  fetch: (after: T | null, n: number) => Promise<T[]>,
  visible: (batch: T[]) => Promise<boolean[]>,
  after: T | null,
): Promise<{ page: T[]; more: boolean; stoppedAt: T | null }> {
  const page: T[] = [];
  let cursor = after;
  let scanned = 0;
  for (;;) {
    const n = Math.min(Math.max(limit - page.length, 20), 200, MAX_SCAN - scanned);
    const batch = await fetch(cursor, n);
    scanned += batch.length;
    const seen = await visible(batch);
    for (let i = 0; i < batch.length; i++) {
      if (!seen[i]) continue;
      page.push(batch[i]!);
      if (page.length === limit) {
        // Another visible row in this batch: more for sure. A full batch: maybe more.
        return { page, more: seen.slice(i + 1).some(Boolean) || batch.length === n, stoppedAt: null };
      }
    }
    if (batch.length < n) return { page, more: false, stoppedAt: null };
    cursor = batch[batch.length - 1]!;
    if (scanned >= MAX_SCAN) return { page, more: true, stoppedAt: cursor };
  }
}

/** "2025-01-01T12:00:00.123456Z_<uuid>" — a decision page cursor — or an instant alone. */
const DECISION_CURSOR = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,6})?(?:Z|[+-]\d{2}:\d{2}))(?:_([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}))?$/;

const asString = (v: unknown): string | null => (typeof v === 'string' ? v : null);

export function readRoutes(app: Routes['app'], r: Routes): void {
  const seal = cursorSeal(r.deps.env);
  const db = r.deps.db;
  const reader = (c: ApiContext, scope: string, action: string) => authorize(r, c, { action, relation: 'reader', object: `scope:${scope}`, scope, write: false });

  app.openapi(listScopes, async (c) => {
    const { limit, after } = c.req.valid('query');
    const principal = c.get('principal');
    let start: string | null = null;
    if (after !== undefined) {
      if (seal.isSealed(after)) start = seal.open('scopes', principal, after).k ?? null;
      else if (ScopeId.safeParse(after).success) start = after;
      else throw new ApiError(400, 'invalid_cursor', 'query.after: neither a scope id nor a cursor from next_after');
    }
    const { page, more, stoppedAt } = await fillPage<string>(
      limit,
      (a, n) => readOnly(db, (q) => scopeIdsAfter(q, a, n)),
      async (ids) => {
        const ok = await allowedObjects(r, principal, 'reader', ids.map((id) => `scope:${id}`));
        return ids.map((id) => ok.has(`scope:${id}`));
      },
      start,
    );
    const rows = await readOnly(db, (q) => scopeOverviews(q, page));
    // A cursor that names a scope the caller cannot see is sealed; one it can see is plain.
    const next_after = stoppedAt !== null ? seal.seal('scopes', principal, { k: stoppedAt }) : more ? (page[page.length - 1] ?? null) : null;
    return c.json(
      {
        scopes: rows.map((s) => ({
          scope: s.scope,
          status: s.status,
          mode: s.mode as 'YOLO' | 'MITL' | 'MASTER' | null,
          hold: s.hold,
          held_since: s.heldSince?.toISOString() ?? null,
          held_by: s.heldBy,
          state: { node: s.node, epoch: s.epoch },
          goal_score: s.goalScore,
          lyapunov_v: s.lyapunovV,
          rounds: s.rounds,
          outcome: s.outcome,
          open_contradictions: s.openContradictions,
          pending_reviews: s.pendingReviews,
          certificates: s.certificates,
          last_activity_at: s.lastActivityAt.toISOString(),
          created_at: s.createdAt.toISOString(),
        })),
        next_after,
      },
      200,
    );
  });

  app.openapi(me, async (c) => {
    const principal = c.get('principal');
    const [ingester, reviewer] = await Promise.all(['ingester', 'reviewer'].map((rel) => allowedObjects(r, principal, rel, ['swarm:main']).then((s) => s.size > 0)));
    return c.json({ principal, swarm: { ingester: ingester!, reviewer: reviewer! } }, 200);
  });

  app.openapi(permissions, async (c) => {
    const { scope } = c.req.valid('param');
    const principal = c.get('principal');
    await reader(c, scope, 'scope.permissions');
    await readOnly(db, (q) => mustGetScope(q, scope));
    const [ingester, reviewer, operator] = await Promise.all(['ingester', 'reviewer', 'operator'].map((rel) => allowedObjects(r, principal, rel, [`scope:${scope}`]).then((s) => s.size > 0)));
    return c.json({ scope, reader: true, ingester: ingester!, reviewer: reviewer!, operator: operator! }, 200);
  });

  app.openapi(facts, async (c) => {
    const { scope } = c.req.valid('param');
    const { limit } = c.req.valid('query');
    await reader(c, scope, 'scope.facts');
    const body = await readOnly(db, async (q) => {
      await mustGetScope(q, scope);
      // One more than the limit: whether a list was cut.
      const [claims, goals, risks, edges] = [
        await queryNodes(q, scope, { kinds: ['claim'], limit: limit + 1 }),
        await queryNodes(q, scope, { kinds: ['goal'], limit: limit + 1 }),
        await queryNodes(q, scope, { kinds: ['risk'], limit: limit + 1 }),
        await currentContradictions(q, scope, limit + 1),
      ];
      const truncated = [claims, goals, risks, edges].some((l) => l.length > limit);
      const [cl, gl, rl, el] = [claims.slice(0, limit), goals.slice(0, limit), risks.slice(0, limit), edges.slice(0, limit)];
      const sides = await currentNodesById(q, scope, el.flatMap((e) => [e.sourceId, e.targetId]));
      const stating = [...cl, ...sides.values()].map((n) => ({ nodeId: n.nodeId, sourceDoc: n.sourceDoc }));
      const sentences = await statingSentences(q, scope, stating);
      const sentenceOf = (n: GraphNode) => sentences.get(n.nodeId)?.sentence ?? null;
      const docs = [...cl, ...gl, ...rl, ...sides.values()].map((n) => n.sourceDoc).filter((d): d is string => d !== null);
      const titles = await documentTitles(q, scope, docs);
      return {
        scope,
        claims: cl.map((n) => ({
          node_id: n.nodeId,
          content: n.content,
          subject: n.subject,
          metric: n.metric,
          value: n.value,
          confidence: n.confidence,
          status: n.status,
          source_doc: n.sourceDoc,
          source_ref: n.sourceRef,
          sentence: sentenceOf(n),
        })),
        goals: gl.map((n) => ({
          node_id: n.nodeId,
          content: n.content,
          status: n.status,
          confidence: n.confidence,
          source_doc: n.sourceDoc,
          state: asString(n.metadata.state),
          deadline: asString((n.metadata.deadline as { label?: unknown } | undefined)?.label),
        })),
        risks: rl.map((n) => ({ node_id: n.nodeId, content: n.content, severity: n.severity, status: n.status, confidence: n.confidence, source_doc: n.sourceDoc })),
        documents: [...titles].map(([doc_id, title]) => ({ doc_id, title })),
        contradictions: el.map((e) => {
          const m = e.metadata as {
            subject?: string;
            metric?: string;
            found_in?: string;
            sides?: { node_id?: string; value?: unknown; display?: string }[];
            resolved_by?: string;
            written_by?: string;
            resolution?: string | { doc?: string; how?: string; accepted_node?: string; accepted?: string; text?: string };
          };
          const side = (id: string) => {
            const n = sides.get(id);
            const s = Array.isArray(m.sides) ? m.sides.find((x) => x?.node_id === id) : undefined;
            return {
              node_id: id,
              content: n?.content ?? null,
              value: s?.value ?? n?.value ?? null,
              display: asString(s?.display),
              source_doc: n?.sourceDoc ?? null,
              sentence: n ? sentenceOf(n) : null,
            };
          };
          // The edge stores its endpoints sorted (contradicts is symmetric); the sides say which was stated first.
          const ids = Array.isArray(m.sides) ? m.sides.map((x) => x?.node_id) : [];
          const [aId, bId] = ids[0] === e.targetId && ids[1] === e.sourceId ? [e.targetId, e.sourceId] : [e.sourceId, e.targetId];
          const res = typeof m.resolution === 'object' && m.resolution !== null ? m.resolution : null;
          const resolved = e.status === 'resolved';
          return {
            edge_id: e.edgeId,
            status: resolved ? ('resolved' as const) : ('open' as const),
            subject: asString(m.subject),
            metric: asString(m.metric),
            found_in: asString(m.found_in),
            a: side(aId),
            b: side(bId),
            resolved_by:
              resolved || e.resolvingNodes.length
                ? {
                    by: asString(m.resolved_by) ?? asString(m.written_by),
                    doc: asString(res?.doc),
                    how: asString(res?.how),
                    accepted_node: asString(res?.accepted_node),
                    accepted: asString(res?.accepted),
                    text: asString(res?.text) ?? asString(m.resolution),
                    resolving_nodes: e.resolvingNodes,
                  }
                : null,
          };
        }),
        truncated,
      };
    });
    return c.json(body, 200);
  });

  app.openapi(timeline, async (c) => {
    const { scope } = c.req.valid('param');
    const { before, limit, kinds } = c.req.valid('query');
    await reader(c, scope, 'scope.timeline');
    const rows = await readOnly(db, async (q) => {
      await mustGetScope(q, scope);
      return contextLogPage(q, scope, { before: before ?? null, limit: limit + 1, kinds: kinds ?? null });
    });
    const entries = rows.slice(0, limit).map((e) => {
      const t = trimPayload(e.payload);
      return { seq: e.seq, kind: e.kind, at: e.at, source: e.source, message_id: e.messageId, summary: summarize(e.kind, e.payload, { tier: e.tier }), payload: t.payload, payload_truncated: t.truncated };
    });
    return c.json({ scope, entries, next_before: rows.length > limit ? entries[entries.length - 1]!.seq : null }, 200);
  });

  app.openapi(decisions, async (c) => {
    const { scope } = c.req.valid('param');
    const { before, limit } = c.req.valid('query');
    let beforeAt: string | null = null;
    let beforeId: string | null = null;
    if (before !== undefined) {
      const m = DECISION_CURSOR.exec(before);
      if (!m || Number.isNaN(Date.parse(m[1]!))) throw new ApiError(400, 'invalid_cursor', 'query.before: neither next_before of a previous page nor an ISO 8601 instant');
      [beforeAt, beforeId] = [m[1]!, m[2] ?? null];
    }
    await reader(c, scope, 'scope.decisions');
    const rows = await readOnly(db, async (q) => {
      await mustGetScope(q, scope);
      return decisionPage(q, scope, { beforeAt, beforeId, limit: limit + 1 });
    });
    const page = rows.slice(0, limit);
    const last = page[page.length - 1];
    return c.json(
      {
        scope,
        decisions: page.map((d) => ({
          decision_id: d.decisionId,
          proposal_id: d.proposalId,
          proposer: d.proposer,
          action: d.action,
          from_node: d.fromNode,
          to_node: d.toNode,
          decision: d.decision,
          governance_path: d.governancePath,
          tier: d.tier,
          mode: d.mode,
          policy_version: d.policyVersion,
          reasons: d.reasons,
          obligations: d.obligations,
          rationale: d.rationale,
          decided_by: d.decidedBy,
          review_id: d.reviewId,
          amended_from: d.amendedFrom,
          amended_to: d.amendedTo,
          created_at: d.createdAt,
        })),
        next_before: rows.length > limit && last ? `${last.createdAt}_${last.decisionId}` : null,
      },
      200,
    );
  });

  app.openapi(briefings, async (c) => {
    const { scope } = c.req.valid('param');
    const { before, limit } = c.req.valid('query');
    await reader(c, scope, 'scope.briefings');
    const rows = await readOnly(db, async (q) => {
      await mustGetScope(q, scope);
      return contextLogPage(q, scope, { before: before ?? null, limit: limit + 1, kinds: ['status_card'] });
    });
    const page = rows.slice(0, limit);
    return c.json(
      {
        scope,
        briefings: page.map((e) => ({
          seq: e.seq,
          at: e.at,
          trigger: asString(e.payload.trigger),
          node: asString(e.payload.node),
          epoch: typeof e.payload.epoch === 'number' ? e.payload.epoch : null,
          status: asString(e.payload.status),
          briefing: asString(e.payload.briefing),
          tier: asString(e.payload.tier),
        })),
        next_before: rows.length > limit ? page[page.length - 1]!.seq : null,
      },
      200,
    );
  });

  app.openapi(inbox, async (c) => {
    const { status, scope, kind, limit, after } = c.req.valid('query');
    const principal = c.get('principal');
    type Pos = { t: string; id: string; scope: string; group: string | null };
    let start: Pos | null = null;
    if (after !== undefined) {
      const p = seal.open('reviews', principal, after);
      if (!p.t || !p.id) throw new ApiError(400, 'invalid_cursor', 'query.after: not a cursor from next_after');
      start = { t: p.t, id: p.id, scope: '', group: null };
    }
    // Reviewer on a scope (member of a group) is asked once per request, whatever the number of its reviews.
    const reviewerOf = new Map<string, boolean>();
    const memberOf = new Map<string, boolean>();
    const { page, more, stoppedAt } = await fillPage<Pos>(
      limit,
      async (a, n) =>
        (
          await readOnly(db, (q) =>
            reviewCandidates(q, { status: status === 'all' ? null : status, scope: scope ?? null, kind: kind ?? null, afterAt: a?.t ?? null, afterId: a?.id ?? null, limit: n }),
          )
        ).map((x) => ({ t: x.cursorAt, id: x.reviewId, scope: x.scope, group: x.escalatedTo })),
      async (batch) => {
        const unknown = [...new Set(batch.map((b) => b.scope))].filter((s) => !reviewerOf.has(s));
        const ok = await allowedObjects(r, principal, 'reviewer', unknown.map((s) => `scope:${s}`));
        for (const s of unknown) reviewerOf.set(s, ok.has(`scope:${s}`));
        // Groups only for the reviews the principal would not see as a reviewer.
        const groups = [...new Set(batch.flatMap((b) => (b.group && !reviewerOf.get(b.scope) ? [b.group] : [])))].filter((g) => !memberOf.has(g));
        const member = await allowedObjects(r, principal, 'member', groups);
        for (const g of groups) memberOf.set(g, member.has(g));
        return batch.map((b) => reviewerOf.get(b.scope) === true || (b.group !== null && memberOf.get(b.group) === true));
      },
      start,
    );
    const reviews = await readOnly(db, (q) => getReviews(q, page.map((p) => p.id)));
    const deadlines = deadlinesOf(r);
    const end = stoppedAt ?? (more ? page[page.length - 1]! : null);
    return c.json(
      {
        reviews: reviews.map((rv) => ({ ...reviewJson(rv, deadlines), can_answer: rv.status === 'pending' })),
        next_after: end ? seal.seal('reviews', principal, { t: end.t, id: end.id }) : null,
      },
      200,
    );
  });

  app.openapi(asOf, async (c) => {
    const { scope } = c.req.valid('param');
    const { at, epoch, limit } = c.req.valid('query');
    await reader(c, scope, 'scope.as_of');
    const body = await readOnly(db, async (q) => {
      await mustGetScope(q, scope);
      let state;
      let when: string;
      if (epoch !== undefined) {
        state = await epochStart(q, scope, epoch);
        if (!state) throw new ApiError(404, 'epoch_not_found', `scope "${scope}" has not reached epoch ${epoch} (or its transition is no longer in the context log)`);
        when = state.since;
      } else {
        when = at!;
        state = await stateAt(q, scope, when);
        if (!state) throw new ApiError(404, 'scope_not_found', `scope "${scope}" did not exist yet at ${when}`);
      }
      const g = await graphKnownAt(q, scope, when, limit + 1, 2 * limit + 1);
      return {
        scope,
        at: when,
        epoch: state.epoch,
        state: { node: state.node, epoch: state.epoch, since: state.since },
        graph: {
          nodes: g.nodes.slice(0, limit).map((n) => ({
            node_id: n.nodeId,
            kind: n.kind,
            content: n.content,
            subject: n.subject,
            value: n.value,
            confidence: n.confidence,
            status: n.status,
            severity: n.severity,
            source_doc: n.sourceDoc,
          })),
          edges: g.edges.slice(0, 2 * limit).map((e) => ({ edge_id: e.edgeId, kind: e.kind, source_id: e.sourceId, target_id: e.targetId, status: e.status })),
          truncated: g.nodes.length > limit || g.edges.length > 2 * limit,
        },
      };
    });
    return c.json(body, 200);
  });
}
