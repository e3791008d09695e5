// The review queue: list a scope's reviews, read one, respond to one. A response is
// published as review.responded (the executor acts on governance reviews, the
// finality step on finality reviews, and they record it); the API only claims the
// answer first (submissions.ts), so a second, different answer is refused at once.
import { createRoute } from '@hono/zod-openapi';
import { SpanKind, extractContext, inSpan, trace } from '../../../shared/adapters/telemetry.ts';
import type { Payload } from '../../../shared/contract/messages.ts';
import { amendProposal } from '../../../shared/domain/amend.ts';
import { getReview, listReviews, type Review } from '../../../shared/store/reviews.ts';
import { authorize, mustGetScope, scopeClosed, type Routes } from '../context.ts';
import { ApiError } from '../errors.ts';
import { bearer, errors, json } from '../openapi.ts';
import { documentEnvelope, publish, responseEnvelope } from '../publish.ts';
import { claimAnswer } from '../submissions.ts';
import { readOnly } from '../queries.ts';
import { REVIEW_OPTIONS, deadlinesOf, reviewJson } from '../review-json.ts';
import {
  RespondAccepted,
  RespondBody,
  Review as ReviewSchema,
  ReviewList,
  ReviewParam,
  ReviewsQuery,
  ScopeParam,
} from '../schemas.ts';

/** Members of the group a pending review was escalated to may read and answer it too. */
const escalatedGroup = (review: Review) => (review.status === 'pending' && review.escalatedTo ? { or: { relation: 'member' as const, object: review.escalatedTo } } : {});

const listRoute = createRoute({
  method: 'get',
  path: '/v1/scopes/{scope}/reviews',
  summary: "A scope's reviews (pending by default)",
  description: 'Permission: reader on the scope.',
  tags: ['reviews'],
  security: bearer,
  request: { params: ScopeParam, query: ReviewsQuery },
  responses: { 200: json(ReviewList, 'Reviews, oldest first'), ...errors(400, 401, 403, 404, 503) },
});

const getRoute = createRoute({
  method: 'get',
  path: '/v1/reviews/{id}',
  summary: 'One review, with what it asks and the options it takes',
  description: "Permission: reader on the review's scope, or member of the group a pending review was escalated to by its deadline.",
  tags: ['reviews'],
  security: bearer,
  request: { params: ReviewParam },
  responses: { 200: json(ReviewSchema, 'The review'), ...errors(400, 401, 403, 404, 503) },
});

const respondRoute = createRoute({
  method: 'post',
  path: '/v1/reviews/{id}/respond',
  summary: 'Respond to a pending review',
  description:
    'Governance reviews take approve | reject; an approval may carry amendments (reason, plan) and is then applied and recorded as amended (the decision record keeps both versions and who amended); finality reviews take approve_finality | provide_resolution (text required: submitted as a resolution document) | escalate | defer (days, default finality.yaml review.defer_days). Publishes review.responded; the same response sent again publishes nothing new. A review is answered once: a different answer after the first is 409 review_already_answered. Permission: reviewer on the review\'s scope, or member of the group a pending review was escalated to by its deadline (a principal that cannot read it gets 404, as for a missing review).',
  tags: ['reviews'],
  security: bearer,
  request: { params: ReviewParam, body: { content: { 'application/json': { schema: RespondBody } }, required: true } },
  responses: { 202: json(RespondAccepted, 'Published'), ...errors(400, 401, 403, 404, 409, 413, 415, 503) },
});

/** A missing review, and one in a scope the caller cannot read: the same answer. */
const reviewNotFound = (id: string) => new ApiError(404, 'review_not_found', `review "${id}" does not exist`);

async function mustGetReview(r: Routes, id: string): Promise<Review> {
  const review = await readOnly(r.deps.db, (q) => getReview(q, id));
  if (!review) throw reviewNotFound(id);
  return review;
}

/** A response is recorded once: approved, rejected, responded and deferred reviews were answered. */
const ANSWERED: readonly Review['status'][] = ['approved', 'rejected', 'responded', 'deferred'];

export function reviewRoutes(app: Routes['app'], r: Routes): void {
  app.openapi(listRoute, async (c) => {
    const { scope } = c.req.valid('param');
    const { status, limit } = c.req.valid('query');
    await authorize(r, c, { action: 'review.list', relation: 'reader', object: `scope:${scope}`, scope, write: false });
    const reviews = await readOnly(r.deps.db, async (q) => {
      await mustGetScope(q, scope);
      return listReviews(q, scope, status === 'all' ? null : status, limit);
    });
    const deadlines = deadlinesOf(r);
    return c.json({ scope, status, reviews: reviews.map((rv) => reviewJson(rv, deadlines)) }, 200);
  });

  app.openapi(getRoute, async (c) => {
    const { id } = c.req.valid('param');
    const review = await mustGetReview(r, id);
    await authorize(r, c, { action: 'review.read', relation: 'reader', object: `scope:${review.scope}`, scope: review.scope, write: false, hidden: reviewNotFound(id), ...escalatedGroup(review) });
    return c.json(reviewJson(review, deadlinesOf(r)), 200);
  });

  app.openapi(respondRoute, async (c) => {
    const { id } = c.req.valid('param');
    const body = c.req.valid('json');
    const principal = c.get('principal');
    const review = await mustGetReview(r, id);
    const accessId = await authorize(r, c, {
      action: 'review.respond',
      relation: 'reviewer',
      object: `scope:${review.scope}`,
      scope: review.scope,
      write: true,
      target: id,
      hidden: reviewNotFound(id),
      ...escalatedGroup(review),
    });

    const allowed = REVIEW_OPTIONS[review.kind];
    if (!allowed.includes(body.option)) {
      throw new ApiError(400, 'option_not_allowed', `body.option: ${body.option} does not apply to a ${review.kind}; use one of ${allowed.join(', ')}`);
    }
    if (body.days !== undefined && body.option !== 'defer') throw new ApiError(400, 'invalid_request', `body.days: only with option defer, not ${body.option}`);
    if (body.option === 'provide_resolution' && body.text === undefined) {
      throw new ApiError(400, 'invalid_request', 'body.text: is required with option provide_resolution (the resolution to submit)');
    }
    if (body.text !== undefined && body.option !== 'provide_resolution') {
      throw new ApiError(400, 'invalid_request', `body.text: only with option provide_resolution, not ${body.option}`);
    }
    // Checked before the answer is claimed: a refused amendment leaves the review open for a corrected one.
    let amendments: Payload<'review.responded'>['amendments'];
    if (body.amendments !== undefined) {
      if (review.kind !== 'governance_review' || body.option !== 'approve') {
        throw new ApiError(400, 'amendment_not_allowed', `body.amendments: only with option approve of a governance review, not ${body.option} of a ${review.kind}`);
      }
      const m = amendProposal(review.request.proposal, body.amendments);
      if (!m.ok) throw new ApiError(400, m.code === 'nothing_to_amend' ? 'amendment_not_allowed' : m.code, m.message.startsWith('amendments') ? `body.${m.message}` : m.message);
      amendments = m.amendments;
    }
    // A closed scope's reviews were superseded; say why, rather than only that the review is closed.
    const scope = await readOnly(r.deps.db, (q) => mustGetScope(q, review.scope));
    if (scope.hold === 'closed') throw scopeClosed(review.scope, scope, 'takes no more answers');
    if (review.status !== 'pending') {
      const by = review.respondedBy ? ` (by ${review.respondedBy})` : '';
      if (ANSWERED.includes(review.status)) throw new ApiError(409, 'review_already_answered', `review "${id}" is already ${review.status}${by}; a review is answered once`);
      throw new ApiError(409, 'review_closed', `review "${id}" is already ${review.status}${by}`);
    }
    const days = body.option === 'defer' ? (body.days ?? r.policies.finality().policy.review.defer_days) : undefined;
    const payload: Payload<'review.responded'> = {
      review_id: id,
      kind: review.kind,
      option: body.option,
      ...(days !== undefined ? { days } : {}),
      ...(body.note !== undefined ? { note: body.note } : {}),
      ...(amendments ? { amendments } : {}),
      responder: principal,
      // The step applying the answer checks this row: no answer takes effect unless the API recorded it.
      access_id: accessId!,
    };
    // The answer continues the trace of the evidence that raised the review, so one trace
    // runs from a document's ingestion through the human decision to the certificate.
    const answer = responseEnvelope(review.scope, payload);
    // Claimed before anything is published: a second, different answer is refused here,
    // instead of being accepted and then failing in the step that records answers.
    const release = await claimAnswer(r.deps.db, id, answer, principal, body.text);
    // The resolution goes first: if the response then fails to publish, the claim is
    // released and a retry publishes both (the document as a duplicate).
    let resolution = null;
    try {
      if (body.option === 'provide_resolution') {
        const doc = documentEnvelope(review.scope, { title: `Resolution for review ${id}`, text: body.text!, kind: 'resolution' }, principal);
        resolution = { scope: review.scope, doc_id: String(doc.payload.doc_id), ...(await publish(r.deps.js, r.deps.env.NATS_SUBJECT_PREFIX, doc)) };
      }
    } catch (err) {
      await release?.().catch(() => {});
      throw err;
    }
    const raisedBy = (review.request as { trace?: { traceparent?: string; tracestate?: string } }).trace;
    const parent = raisedBy?.traceparent ? extractContext(new Headers({ traceparent: raisedBy.traceparent, ...(raisedBy.tracestate ? { tracestate: raisedBy.tracestate } : {}) })) : undefined;
    const request = trace.getActiveSpan()?.spanContext();
    const pub = await inSpan(
      `review respond ${review.kind}`,
      { kind: SpanKind.PRODUCER, attributes: { 'gswarm.review_id': id, 'gswarm.option': body.option, 'gswarm.scope': review.scope }, ...(request ? { links: [{ context: request }] } : {}) },
      parent,
      () => publish(r.deps.js, r.deps.env.NATS_SUBJECT_PREFIX, answer),
    ).catch(async (err: unknown) => {
      await release?.().catch(() => {});
      throw err;
    });
    r.log.info({ review_id: id, option: body.option, principal, duplicate: pub.duplicate }, 'review response published');
    return c.json({ review_id: id, kind: review.kind, option: body.option, ...pub, resolution }, 202);
  });
}
