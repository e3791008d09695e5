// Checks the agent steps share: the step's own permission on the scope (OpenFGA),
// and whether the scope is still where the triggering message said it was.
import type { Authorizer } from '../adapters/authz.ts';
import { PermanentError, TransientError } from '../contract/errors.ts';
import type { ScopeState, StateNode } from '../domain/state-machine.ts';
import type { MessageHandler } from './agent-step.ts';

/**
 * Throws unless agent:<agent> holds `relation` on the scope. Fails closed either way;
 * an OpenFGA outage is transient (retried: an approved transition must not be
 * dead-lettered for it), a denial permanent. `refused` completes the message
 * "agent:<agent> <refused> scope:<scope>", e.g. 'may not execute on'.
 */
export async function requireAgentRelation(authz: Pick<Authorizer, 'check'>, agent: string, relation: string, scope: string, refused: string): Promise<void> {
  const r = await authz.check({ user: `agent:${agent}`, relation, object: `scope:${scope}` });
  if (r.allowed) return;
  if (r.reason === 'unavailable') throw new TransientError('authz_unavailable', `OpenFGA unavailable: ${r.detail ?? ''}`);
  throw new PermanentError('not_authorized', `agent:${agent} ${refused} scope:${scope} (${r.reason})`);
}

/** The scope is still at `node` and `epoch`, as the message that woke the step saw it. */
export const stillAt = (state: ScopeState | null, node: StateNode, epoch: number): state is ScopeState =>
  state !== null && state.node === node && state.epoch === epoch;

/** What a step returns when the scope moved on before it acted: nothing to do, not an error. */
export const movedOn = () => ({ result: { skipped: 'state moved on' } });

/** A state.advanced handler for the scope entering `node`; any other advance is none of the step's business. */
export const entering =
  (node: StateNode, handle: MessageHandler<'state.advanced'>): MessageHandler<'state.advanced'> =>
  async (adv, msg, ctx) =>
    adv.to === node ? handle(adv, msg, ctx) : { result: { skipped: `state moved to ${adv.to}` } };
