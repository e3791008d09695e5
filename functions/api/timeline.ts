// One human line per context-log entry, and payloads trimmed for a browser: what the
// console's timeline shows. Pure functions of the stored entry.

const str = (v: unknown): string | null => (typeof v === 'string' && v.length ? v : null);
const numStr = (v: unknown, digits = 2): string | null => (typeof v === 'number' && Number.isFinite(v) ? v.toFixed(digits) : null);
const short = (s: string, n = 160) => (s.length > n ? `${s.slice(0, n - 1)}…` : s);
const list = (v: unknown): string[] => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : []);

/** The tier recorded on the decision an entry refers to (joined from decision_records), if any. */
export interface EntryContext {
  tier: number | null;
}

export function summarize(kind: string, p: Record<string, unknown>, ctx: EntryContext = { tier: null }): string {
  const path = str(p.governance_path);
  const tier = ctx.tier !== null ? `tier ${ctx.tier}` : null;
  const how = (...parts: (string | null)[]) => {
    const xs = parts.filter((x): x is string => x !== null);
    return xs.length ? ` (${xs.join(', ')})` : '';
  };
  const reason = str(p.reason) ? `: ${short(str(p.reason)!)}` : '';
  switch (kind) {
    case 'context_doc':
    case 'resolution': {
      const failed = (p.extraction_error as { code?: string } | undefined)?.code;
      const what = kind === 'resolution' ? 'resolution' : 'document';
      return `${what} received: ${short(str(p.title) ?? str(p.doc_id) ?? '(untitled)')}${failed ? ` (not read: ${failed})` : ''}`;
    }
    case 'proposal_approved': {
      const by = str(p.approved_by);
      const amended = list(p.amended);
      return `governance approve${how(by && by !== 'auto' ? `by ${by}` : null, amended.length ? `amended: ${amended.join(', ')}` : null, tier, path ? `path ${path}` : null, str(p.mode))}`;
    }
    case 'plan_amended': {
      const actions = list(p.actions);
      return `plan amended${how(str(p.amended_by) ? `by ${str(p.amended_by)}` : null)}: ${actions.length ? short(actions.join(', '), 120) : 'no action'}${list(p.original_actions).length ? ` (was ${short(list(p.original_actions).join(', '), 80)})` : ''}`;
    }
    case 'proposal_rejected':
      return `governance reject${how(tier, path ? `path ${path}` : null, str(p.reason_code))}${reason}`;
    case 'proposal_pending_approval':
      return `governance review requested${how(tier, str(p.review_id))}${reason}`;
    case 'state_transition':
      return `state ${str(p.from) ?? '?'} → ${str(p.to) ?? '?'}${typeof p.epoch === 'number' ? ` (epoch ${p.epoch})` : ''}`;
    case 'drift_analyzed': {
      const notes = list(p.notes);
      const types = list(p.types);
      return `drift ${str(p.level) ?? 'unknown'}${types.length ? ` (${types.join(', ')})` : ''}${notes.length ? `: ${short(notes[0]!, 120)}${notes.length > 1 ? ` (+${notes.length - 1} more)` : ''}` : ''}`;
    }
    case 'actions_planned': {
      const actions = Array.isArray(p.actions) ? (p.actions as unknown[]) : [];
      // The planner logs action names; older entries logged objects.
      const obj = (a: unknown) => (a && typeof a === 'object' ? (a as Record<string, unknown>) : {});
      const names = actions.map((a) => str(a) ?? str(obj(a).type) ?? str(obj(a).action) ?? str(obj(a).name)).filter((x): x is string => x !== null);
      return `actions planned: ${actions.length}${names.length ? ` (${short(names.join(', '), 120)})` : ''}`;
    }
    case 'status_card':
      return `briefing${how(str(p.trigger))}: ${short(str(p.briefing) ?? '')}`;
    case 'finality_review_requested': {
      const blockers = list(p.blockers);
      return `finality review requested${how(numStr(p.goal_score) ? `goal score ${numStr(p.goal_score)}` : null, blockers.length ? `blockers: ${blockers.join(', ')}` : null)}`;
    }
    case 'finality_response':
      return `finality response: ${str(p.option) ?? '?'}${str(p.by) ? ` by ${str(p.by)}` : ''}${typeof p.days === 'number' ? ` (${p.days} days)` : ''}`;
    case 'review_escalated':
      return `review ${str(p.review_id) ?? '?'} escalated to ${str(p.escalated_to) ?? '?'}: no answer by ${str(p.deadline) ?? 'its deadline'}`;
    case 'review_expired':
      return `review ${str(p.review_id) ?? '?'} ${p.action === 'reject' ? 'rejected' : 'deferred'} by ${str(p.by) ?? 'system:deadline'}: no answer by ${str(p.deadline) ?? 'its deadline'}${typeof p.days === 'number' ? ` (${p.days} days)` : ''}`;
    case 'scope_status_changed':
    case 'session_finalized': {
      const cert = str(p.certificate_id) ? `; certificate ${str(p.certificate_id)}` : '';
      const head = kind === 'session_finalized' ? 'session finalized' : `scope ${str(p.from) ?? '?'} → ${str(p.to) ?? '?'}`;
      return `${head}${how(str(p.outcome), str(p.decided_by) ? `by ${str(p.decided_by)}` : null)}${cert}`;
    }
    case 'scope_reopened':
      return `scope reopened${how(str(p.previous_status) ? `was ${str(p.previous_status)}` : null, typeof p.round === 'number' ? `round ${p.round}` : null)}`;
    case 'scope_paused':
    case 'scope_resumed':
    case 'scope_closed': {
      const superseded = list(p.superseded_reviews);
      return `scope ${kind.slice(6)}${how(str(p.by) ? `by ${str(p.by)}` : null, superseded.length ? `${superseded.length} pending review(s) superseded` : null)}${reason}`;
    }
    case 'wal.compacted':
    case 'wal.retained':
      return `${typeof p.removed === 'number' ? p.removed : 'some'} earlier entries ${kind === 'wal.compacted' ? 'compacted' : 'removed by retention'}${typeof p.from_seq === 'number' ? ` (seq ${p.from_seq}–${p.to_seq})` : ''}`;
    default:
      return kind.replace(/[_.]/g, ' ');
  }
}

/** Longest string kept in a payload, arrays kept to this many items, objects to this depth. */
const MAX_STRING = 1_000;
const MAX_ITEMS = 50;
const MAX_DEPTH = 6;
/** A trimmed payload still over this (as JSON) is replaced by its keys. */
export const MAX_PAYLOAD_CHARS = 8_000;

/**
 * Bound a payload for display: long strings cut, long arrays shortened, deep objects
 * elided. `truncated` says whether anything was. A document's text (cut in SQL to a
 * prefix, its length in `text_chars`) is marked `text_truncated: true`.
 */
export function trimPayload(payload: Record<string, unknown>): { payload: Record<string, unknown>; truncated: boolean } {
  let truncated = false;
  const walk = (v: unknown, depth: number): unknown => {
    if (typeof v === 'string') {
      if (v.length <= MAX_STRING) return v;
      truncated = true;
      return `${v.slice(0, MAX_STRING)}…`;
    }
    if (v === null || typeof v !== 'object') return v;
    if (depth >= MAX_DEPTH) {
      truncated = true;
      return Array.isArray(v) ? [] : {};
    }
    if (Array.isArray(v)) {
      if (v.length > MAX_ITEMS) truncated = true;
      return v.slice(0, MAX_ITEMS).map((x) => walk(x, depth + 1));
    }
    return Object.fromEntries(Object.entries(v as Record<string, unknown>).map(([k, x]) => [k, walk(x, depth + 1)]));
  };
  let out = walk(payload, 0) as Record<string, unknown>;
  if (typeof out.text_chars === 'number') {
    out = { ...out, text_truncated: true };
    truncated = true;
  }
  if (out.payload_omitted === true) truncated = true;
  if (JSON.stringify(out).length > MAX_PAYLOAD_CHARS) {
    out = { payload_omitted: true, keys: Object.keys(payload) };
    truncated = true;
  }
  return { payload: out, truncated };
}
