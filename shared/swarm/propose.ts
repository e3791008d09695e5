// Proposals to advance a scope's state one step. Only the agent whose step leads
// into a node proposes it (facts → FactsExtracted, drift → DriftChecked, planner →
// ContextIngested), from the state it read; governance re-checks all of it.
import { message } from '../contract/messages.ts';
import { successor, type StateNode } from '../domain/state-machine.ts';

export function proposeAdvance(scope: string, proposer: string, state: { node: StateNode; epoch: number }, reason: string, attempt = 0, plan?: { actions: readonly string[] }) {
  const to = successor(state.node);
  return message('proposal.submitted', {
    // One proposal per (scope, epoch, proposer, attempt): a re-run proposes the same thing;
    // asking again after a rejection (attempt 1, 2, ...) is a new proposal.
    proposal_id: `${scope}/e${state.epoch}/${proposer}${attempt > 0 ? `/r${attempt}` : ''}`,
    proposer,
    action: 'advance_state',
    from: state.node,
    to,
    expected_epoch: state.epoch,
    reason: reason.slice(0, 500),
    // What the proposer will do once approved, for the reviewer to see (and amend): each action once, at most 20.
    ...(plan ? { plan: { actions: [...new Set(plan.actions)].slice(0, 20) } } : {}),
  });
}
