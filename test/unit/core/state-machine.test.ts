import { describe, expect, it } from 'vitest';
import {
  describeNode,
  INITIAL_NODE,
  parseTransition,
  STATE_NODES,
  STEP_INTO,
  SUCCESSOR,
  successor,
  transitionFrom,
} from '../../../shared/domain/state-machine.ts';

describe('state machine', () => {
  it('is the three-node cycle ContextIngested → FactsExtracted → DriftChecked → ContextIngested', () => {
    let n = INITIAL_NODE;
    const seen = [n];
    for (let i = 0; i < 3; i++) seen.push((n = successor(n)));
    expect(seen).toEqual(['ContextIngested', 'FactsExtracted', 'DriftChecked', 'ContextIngested']);
    expect(Object.keys(SUCCESSOR).sort()).toEqual([...STATE_NODES].sort());
  });

  it('accepts exactly the three edges at run time', () => {
    const ok = STATE_NODES.flatMap((a) => STATE_NODES.filter((b) => parseTransition(a, b)).map((b) => `${a}>${b}`));
    expect(ok.sort()).toEqual(['ContextIngested>FactsExtracted', 'DriftChecked>ContextIngested', 'FactsExtracted>DriftChecked']);
    expect(parseTransition('ContextIngested', 'Nowhere')).toBeNull();
    expect(parseTransition(42, 'FactsExtracted')).toBeNull();
    expect(transitionFrom('FactsExtracted')).toEqual({ from: 'FactsExtracted', to: 'DriftChecked' });
  });

  it('names the role that moves the scope into each node and describes every node', () => {
    expect(STEP_INTO.FactsExtracted.role).toBe('facts');
    expect(STEP_INTO.DriftChecked.role).toBe('drift');
    expect(STEP_INTO.ContextIngested.role).toBe('planner');
    for (const n of STATE_NODES) expect(describeNode(n)).toMatch(/waiting/);
  });
});
