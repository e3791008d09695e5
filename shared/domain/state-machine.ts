// The per-scope state machine: ContextIngested → FactsExtracted → DriftChecked →
// ContextIngested. Every table below is checked with `satisfies Record<StateNode, …>`
// and every switch ends in assertNever, so adding a node without handling it (a
// successor, a step, a label) is a compile error, not a runtime surprise.
import { z } from 'zod';

export const STATE_NODES = ['ContextIngested', 'FactsExtracted', 'DriftChecked'] as const;
export type StateNode = (typeof STATE_NODES)[number];
export const StateNodeSchema = z.enum(STATE_NODES);

/** The single edge out of each node. */
export const SUCCESSOR = {
  ContextIngested: 'FactsExtracted',
  FactsExtracted: 'DriftChecked',
  DriftChecked: 'ContextIngested',
} as const satisfies Record<StateNode, StateNode>;

export type Successor<N extends StateNode> = (typeof SUCCESSOR)[N];

/** Exactly the legal (from, to) pairs; `{from:'FactsExtracted', to:'ContextIngested'}` does not type-check. */
export type Transition = { [N in StateNode]: { readonly from: N; readonly to: Successor<N> } }[StateNode];

/** The agent role whose work moves the scope into a node, and the event it emits. */
export const STEP_INTO = {
  FactsExtracted: { role: 'facts', event: 'facts_extracted' },
  DriftChecked: { role: 'drift', event: 'drift_analyzed' },
  ContextIngested: { role: 'planner', event: 'actions_planned' },
} as const satisfies Record<StateNode, { role: string; event: string }>;

export const INITIAL_NODE: StateNode = 'ContextIngested';

export function assertNever(x: never, what = 'value'): never {
  throw new Error(`unhandled ${what}: ${JSON.stringify(x)}`);
}

export function isStateNode(x: unknown): x is StateNode {
  return typeof x === 'string' && (STATE_NODES as readonly string[]).includes(x);
}

export function successor<N extends StateNode>(node: N): Successor<N> {
  return SUCCESSOR[node];
}

/** The transition out of `from`. */
export function transitionFrom<N extends StateNode>(from: N): { from: N; to: Successor<N> } {
  return { from, to: SUCCESSOR[from] };
}

/** Runtime check for untrusted input: the pair as a Transition, or null when it is not an edge. */
export function parseTransition(from: unknown, to: unknown): Transition | null {
  if (!isStateNode(from) || !isStateNode(to)) return null;
  return SUCCESSOR[from] === to ? ({ from, to } as Transition) : null;
}

/** What the cycle is doing at each node (for logs and briefings); exhaustive by construction. */
export function describeNode(node: StateNode): string {
  switch (node) {
    case 'ContextIngested':
      return 'context ingested, waiting for fact extraction';
    case 'FactsExtracted':
      return 'facts extracted, waiting for the drift check';
    case 'DriftChecked':
      return 'drift checked, waiting for planning';
    default:
      return assertNever(node, 'state node');
  }
}

/** A scope's current position: the node and the compare-and-swap epoch. */
export interface ScopeState {
  scope: string;
  node: StateNode;
  epoch: number;
  runId: string | null;
  updatedAt: Date;
}

/** Outcome of an epoch compare-and-swap advance. */
export type AdvanceResult =
  | { ok: true; state: ScopeState; seq: number; replayed: boolean }
  /** Someone advanced first: the epoch moved on. */
  | { ok: false; reason: 'lost_race'; current: ScopeState }
  /** The epoch matches but the scope is not at `from` (a corrupt or mistaken proposal). */
  | { ok: false; reason: 'wrong_node'; current: ScopeState }
  | { ok: false; reason: 'no_scope' };
