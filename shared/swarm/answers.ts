// A human answer arriving on the bus is checked, not trusted: the responder must hold
// the reviewer relation on the message's scope when the answer takes effect — or, for a
// review escalated by its deadline, be a member of the group it was escalated to —
// (OpenFGA, failing closed), and the review store checks that the API recorded this very answer.
import type { Authorizer } from '../adapters/authz.ts';
import { PermanentError, TransientError } from '../contract/errors.ts';
import type { Queryable } from '../store/db.ts';
import { getReview } from '../store/reviews.ts';

export async function authorizeResponder(authz: Authorizer, scope: string, responder: string, escalatedTo: string | null = null): Promise<void> {
  let r = await authz.check({ user: responder, relation: 'reviewer', object: `scope:${scope}` });
  if (!r.allowed && r.reason === 'denied' && escalatedTo) r = await authz.check({ user: responder, relation: 'member', object: escalatedTo });
  if (r.allowed) return;
  if (r.reason === 'unavailable') throw new TransientError('authz_unavailable', `OpenFGA unavailable: ${r.detail ?? ''}`);
  throw new PermanentError('responder_not_authorized', `${responder} is not a reviewer on scope:${scope}${escalatedTo ? ` nor a member of ${escalatedTo}` : ''} (${r.reason})`);
}

/** authorizeResponder against the review as recorded: the group it was escalated to, if any, may answer too. */
export async function authorizeAnswer(deps: { db: Queryable; authz: Authorizer }, scope: string, reviewId: string, responder: string): Promise<void> {
  const escalatedTo = (await getReview(deps.db, reviewId))?.escalatedTo ?? null;
  await authorizeResponder(deps.authz, scope, responder, escalatedTo);
}
