// Type-level tests, checked by `tsc --noEmit` (part of `npm test`): each line under an
// expect-error directive must fail to compile. If the state machine's types stopped
// catching one of these mistakes, the unused directive itself would become the error.
import {
  assertNever,
  SUCCESSOR,
  STEP_INTO,
  transitionFrom,
  type StateNode,
  type Transition,
} from '../../../shared/domain/state-machine.ts';

// A table that forgets a node does not compile.
// @ts-expect-error DriftChecked has no successor
export const partial = { ContextIngested: 'FactsExtracted', FactsExtracted: 'DriftChecked' } satisfies Record<StateNode, StateNode>;

// Growing the node union without extending the tables does not compile.
type Grown = StateNode | 'Reviewed';
// @ts-expect-error 'Reviewed' is missing from SUCCESSOR
export const grownSuccessor = SUCCESSOR satisfies Record<Grown, StateNode>;
// @ts-expect-error 'Reviewed' is missing from STEP_INTO
export const grownStep = STEP_INTO satisfies Record<Grown, { role: string; event: string }>;

// A pair that is not an edge is not a Transition.
// @ts-expect-error FactsExtracted → ContextIngested skips DriftChecked
export const skip: Transition = { from: 'FactsExtracted', to: 'ContextIngested' };
// @ts-expect-error no self-loops
export const loop: Transition = { from: 'DriftChecked', to: 'DriftChecked' };
export const edge: Transition = { from: 'DriftChecked', to: 'ContextIngested' };
// The successor type is exact.
// @ts-expect-error the successor of ContextIngested is FactsExtracted
export const wrongTo: 'DriftChecked' = transitionFrom('ContextIngested').to;

// A switch that does not handle every node fails at assertNever.
export function label(n: StateNode): string {
  switch (n) {
    case 'ContextIngested':
      return 'a';
    case 'FactsExtracted':
      return 'b';
    default:
      // @ts-expect-error DriftChecked is not handled, so n is not never
      return assertNever(n);
  }
}

// And one that handles every node compiles.
export function complete(n: StateNode): string {
  switch (n) {
    case 'ContextIngested':
    case 'FactsExtracted':
    case 'DriftChecked':
      return n;
    default:
      return assertNever(n);
  }
}
