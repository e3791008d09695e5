import { describe, expect, it } from 'vitest';
import { contentHash, mergeEdge, mergeNode, nextEdgeStatus, nextNodeStatus, NODE_STATUSES, type NodeFields } from '../../../shared/domain/graph.ts';

const claim = (over: Partial<NodeFields> = {}): NodeFields => ({
  kind: 'claim',
  content: 'ARR is 50M',
  subject: null,
  metric: null,
  value: null,
  confidence: 0.6,
  status: 'active',
  severity: null,
  sourceDoc: null,
  sourceRef: {},
  metadata: {},
  validFrom: new Date('2025-01-01T00:00:00Z'),
  validTo: null,
  ...over,
});

describe('monotonic node merge', () => {
  it('confidence never decreases', () => {
    const m = mergeNode(claim({ confidence: 0.8 }), { kind: 'claim', content: 'ARR is 50M', confidence: 0.5 });
    expect(m.action).toBe('noop');
    const up = mergeNode(claim({ confidence: 0.8 }), { kind: 'claim', content: 'ARR is 50M', confidence: 0.9 });
    expect(up).toMatchObject({ action: 'supersede', changed: ['confidence'], next: { confidence: 0.9 } });
  });

  it('resolved is terminal; progress moves forward; irrelevant may come back', () => {
    for (const s of NODE_STATUSES) expect(nextNodeStatus('resolved', s)).toBe('resolved');
    expect(nextNodeStatus('in_progress', 'active')).toBe('in_progress');
    expect(nextNodeStatus('in_progress', 'resolved')).toBe('resolved');
    expect(nextNodeStatus('active', 'irrelevant')).toBe('irrelevant');
    expect(nextNodeStatus('irrelevant', 'active')).toBe('active');
    expect(nextNodeStatus('active', undefined)).toBe('active');
  });

  it('a resolved goal is not re-opened by a later extraction', () => {
    const goal = claim({ kind: 'goal', content: 'Pass SOC 2', status: 'resolved' });
    expect(mergeNode(goal, { kind: 'goal', content: 'Pass SOC 2', status: 'active' }).action).toBe('noop');
  });

  it('a new node is inserted with defaults; metadata merges; nothing changed is a no-op', () => {
    expect(mergeNode(null, { kind: 'risk', content: 'x', severity: 'high' })).toMatchObject({ action: 'insert', next: { status: 'active', confidence: 0.5, severity: 'high' } });
    expect(mergeNode(claim({ metadata: { a: 1 } }), { kind: 'claim', content: 'ARR is 50M', metadata: { b: 2 } })).toMatchObject({
      action: 'supersede',
      next: { metadata: { a: 1, b: 2 } },
    });
    expect(mergeNode(claim(), { kind: 'claim', content: 'ARR is 50M', validFrom: new Date('2025-01-01T00:00:00Z') }).action).toBe('noop');
  });

  it('identity of text ignores case and whitespace', () => {
    expect(contentHash('  ARR   is 50M ')).toBe(contentHash('arr is 50m'));
    expect(contentHash('ARR is 50M')).not.toBe(contentHash('ARR is 40M'));
  });
});

describe('edge merge', () => {
  it('a resolved contradiction never re-opens', () => {
    expect(nextEdgeStatus('resolved', 'active')).toBe('resolved');
    const e = { weight: 1, status: 'resolved' as const, metadata: {}, validFrom: null, validTo: null };
    expect(mergeEdge(e, { status: 'active' }).action).toBe('noop');
    expect(nextEdgeStatus('irrelevant', 'active')).toBe('active');
    expect(mergeEdge(null, {})).toMatchObject({ action: 'insert', next: { status: 'active', weight: 1 } });
  });
});
