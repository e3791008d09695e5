// Monotonic merge rules for the semantic graph. A write never lowers a claim's
// confidence, never re-opens something resolved, and marks stale facts irrelevant
// instead of deleting them. The store turns a merge into "supersede the current
// version, insert the next one" (or nothing, when the merge changes nothing).
import { createHash } from 'node:crypto';

export const NODE_KINDS = ['claim', 'goal', 'risk', 'assessment'] as const;
export type NodeKind = (typeof NODE_KINDS)[number];
export const NODE_STATUSES = ['active', 'in_progress', 'resolved', 'irrelevant'] as const;
export type NodeStatus = (typeof NODE_STATUSES)[number];
export const EDGE_KINDS = ['contradicts', 'resolves', 'supports'] as const;
export type EdgeKind = (typeof EDGE_KINDS)[number];
export const EDGE_STATUSES = ['active', 'resolved', 'irrelevant'] as const;
export type EdgeStatus = (typeof EDGE_STATUSES)[number];
export const SEVERITIES = ['low', 'medium', 'high', 'critical'] as const;
export type Severity = (typeof SEVERITIES)[number];

/** contradicts is symmetric: (a, b) and (b, a) are one edge. */
export const SYMMETRIC_EDGE_KINDS: ReadonlySet<EdgeKind> = new Set(['contradicts']);

/** Identity of a node's text: whitespace-collapsed, lower-cased, sha256. */
export function contentHash(content: string): string {
  return createHash('sha256').update(content.trim().replace(/\s+/g, ' ').toLowerCase(), 'utf8').digest('hex');
}

/**
 * Allowed node status moves. `resolved` is terminal (a resolved goal stays resolved even
 * when a later extraction no longer mentions it); progress only moves forward
 * (active → in_progress → resolved); an irrelevant node may come back as active.
 */
export function nextNodeStatus(current: NodeStatus, requested: NodeStatus | undefined): NodeStatus {
  if (requested === undefined || requested === current) return current;
  switch (current) {
    case 'resolved':
      return 'resolved';
    case 'irrelevant':
      return requested === 'in_progress' || requested === 'resolved' || requested === 'active' ? requested : current;
    case 'in_progress':
      return requested === 'active' ? current : requested;
    case 'active':
      return requested;
  }
}

/** Edge status: a resolved edge never re-opens; an irrelevant one may come back. */
export function nextEdgeStatus(current: EdgeStatus, requested: EdgeStatus | undefined): EdgeStatus {
  if (requested === undefined || requested === current) return current;
  return current === 'resolved' ? 'resolved' : requested;
}

export interface NodeFields {
  kind: NodeKind;
  content: string;
  subject: string | null;
  metric: string | null;
  value: unknown;
  confidence: number;
  status: NodeStatus;
  severity: Severity | null;
  sourceDoc: string | null;
  sourceRef: Record<string, unknown>;
  metadata: Record<string, unknown>;
  validFrom: Date | null;
  validTo: Date | null;
}

export type NodePatch = Partial<NodeFields> & { content?: string };

export type MergeResult<T> = { action: 'insert'; next: T } | { action: 'supersede'; next: T; changed: string[] } | { action: 'noop' };

const sameJson = (a: unknown, b: unknown) => JSON.stringify(a ?? null) === JSON.stringify(b ?? null);
const sameTime = (a: Date | null, b: Date | null) => (a === null || b === null ? a === b : a.getTime() === b.getTime());

const DEFAULTS: Omit<NodeFields, 'kind' | 'content'> = {
  subject: null,
  metric: null,
  value: null,
  confidence: 0.5,
  status: 'active',
  severity: null,
  sourceDoc: null,
  sourceRef: {},
  metadata: {},
  validFrom: null,
  validTo: null,
};

/** Merge a write into the current version (null: the node is new). */
export function mergeNode(current: NodeFields | null, patch: NodePatch & { kind: NodeKind; content: string }): MergeResult<NodeFields> {
  if (!current) {
    return { action: 'insert', next: { ...DEFAULTS, ...stripUndefined(patch), status: patch.status ?? 'active' } as NodeFields };
  }
  const next: NodeFields = {
    kind: current.kind,
    content: patch.content ?? current.content,
    subject: patch.subject !== undefined ? patch.subject : current.subject,
    metric: patch.metric !== undefined ? patch.metric : current.metric,
    value: patch.value !== undefined ? patch.value : current.value,
    // Monotonic: confidence only rises.
    confidence: patch.confidence !== undefined ? Math.max(current.confidence, patch.confidence) : current.confidence,
    status: nextNodeStatus(current.status, patch.status),
    severity: patch.severity !== undefined ? patch.severity : current.severity,
    sourceDoc: patch.sourceDoc ?? current.sourceDoc,
    sourceRef: patch.sourceRef ? { ...current.sourceRef, ...patch.sourceRef } : current.sourceRef,
    metadata: patch.metadata ? { ...current.metadata, ...patch.metadata } : current.metadata,
    validFrom: patch.validFrom !== undefined ? patch.validFrom : current.validFrom,
    validTo: patch.validTo !== undefined ? patch.validTo : current.validTo,
  };
  const changed: string[] = [];
  for (const k of Object.keys(next) as (keyof NodeFields)[]) {
    const a = current[k];
    const b = next[k];
    const same = a instanceof Date || b instanceof Date ? sameTime(a as Date | null, b as Date | null) : typeof a === 'object' ? sameJson(a, b) : a === b;
    if (!same) changed.push(k);
  }
  return changed.length === 0 ? { action: 'noop' } : { action: 'supersede', next, changed };
}

export interface EdgeFields {
  weight: number;
  status: EdgeStatus;
  metadata: Record<string, unknown>;
  validFrom: Date | null;
  validTo: Date | null;
}

export function mergeEdge(current: EdgeFields | null, patch: Partial<EdgeFields>): MergeResult<EdgeFields> {
  if (!current) {
    return { action: 'insert', next: { weight: 1, status: 'active', metadata: {}, validFrom: null, validTo: null, ...stripUndefined(patch) } };
  }
  const next: EdgeFields = {
    weight: patch.weight ?? current.weight,
    status: nextEdgeStatus(current.status, patch.status),
    metadata: patch.metadata ? { ...current.metadata, ...patch.metadata } : current.metadata,
    validFrom: patch.validFrom !== undefined ? patch.validFrom : current.validFrom,
    validTo: patch.validTo !== undefined ? patch.validTo : current.validTo,
  };
  const changed: string[] = [];
  if (next.weight !== current.weight) changed.push('weight');
  if (next.status !== current.status) changed.push('status');
  if (!sameJson(next.metadata, current.metadata)) changed.push('metadata');
  if (!sameTime(next.validFrom, current.validFrom)) changed.push('validFrom');
  if (!sameTime(next.validTo, current.validTo)) changed.push('validTo');
  return changed.length === 0 ? { action: 'noop' } : { action: 'supersede', next, changed };
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
