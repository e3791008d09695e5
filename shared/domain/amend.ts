// Edit before approve: a reviewer may approve a proposal with amendments to what it
// says (reason) and what it plans (plan). What it asks for — its identity, proposer and
// transition — stays: governance decided on exactly that, and the executor's epoch
// compare-and-swap applies exactly that. Pure: the API checks an answer with it before
// publishing, the executor again before recording (a message is not trusted to have been checked).
import { z } from 'zod';
import { ProposalAmendments, ProposalSubmitted } from '../contract/messages.ts';

export type Proposal = z.output<typeof ProposalSubmitted>;
export type Amendments = z.output<typeof ProposalAmendments>;

/** What governance decided on: never amended. */
export const IDENTITY_FIELDS = ['proposal_id', 'proposer', 'action', 'from', 'to', 'expected_epoch'] as const;
/** What a reviewer may change. */
export const AMENDABLE_FIELDS = ['reason', 'plan'] as const;
export type AmendableField = (typeof AMENDABLE_FIELDS)[number];

export type AmendResult =
  | { ok: true; amendments: Amendments; original: Proposal; amended: Proposal; changed: AmendableField[] }
  | { ok: false; code: 'amendment_not_allowed' | 'invalid_amendment' | 'nothing_to_amend'; field: string | null; message: string };

const fail = (code: Extract<AmendResult, { ok: false }>['code'], field: string | null, message: string): AmendResult => ({ ok: false, code, field, message });

const issues = (err: z.ZodError, prefix: string) =>
  err.issues.map((i) => `${[prefix, ...i.path.map(String)].join('.')}: ${i.message}`).join('; ');

/** Key order fixed, so equal amendments are equal text (the answer's message id covers it). */
export const canonicalAmendments = (a: Amendments): string => JSON.stringify({ reason: a.reason, plan: a.plan ? { actions: a.plan.actions } : undefined });

/**
 * The proposal as amended, or why not. `original` is the proposal a governance review
 * carries (its request.proposal); the result parses as ProposalSubmitted, as the original did.
 */
export function amendProposal(original: unknown, amendments: unknown): AmendResult {
  const o = ProposalSubmitted.safeParse(original);
  if (!o.success) return fail('nothing_to_amend', null, `the review carries no proposal that can be amended (${issues(o.error, 'proposal')})`);
  if (typeof amendments !== 'object' || amendments === null || Array.isArray(amendments)) {
    return fail('invalid_amendment', null, 'amendments: an object of the fields to change (reason, plan)');
  }
  const keys = Object.keys(amendments);
  if (!keys.length) return fail('invalid_amendment', null, 'amendments: empty; approve without amendments instead');
  for (const k of keys) {
    if ((IDENTITY_FIELDS as readonly string[]).includes(k)) {
      return fail('amendment_not_allowed', k, `amendments.${k}: may not be amended (what was proposed and decided on stays; only ${AMENDABLE_FIELDS.join(' and ')} may change)`);
    }
    if (!(AMENDABLE_FIELDS as readonly string[]).includes(k)) {
      return fail('amendment_not_allowed', k, `amendments.${k}: not a field of the proposal that may be amended (${AMENDABLE_FIELDS.join(', ')})`);
    }
  }
  const a = ProposalAmendments.safeParse(amendments);
  if (!a.success) return fail('invalid_amendment', a.error.issues[0]?.path.map(String).join('.') || null, issues(a.error, 'amendments'));
  // The same schema as any proposal: an amended proposal is one its proposer could have sent.
  const merged = ProposalSubmitted.safeParse({ ...o.data, ...a.data });
  if (!merged.success) return fail('invalid_amendment', null, issues(merged.error, 'amended proposal'));
  const changed = AMENDABLE_FIELDS.filter((f) => a.data[f] !== undefined && JSON.stringify(a.data[f]) !== JSON.stringify(o.data[f]));
  if (!changed.length) return fail('invalid_amendment', null, 'amendments: change nothing in the proposal; approve without amendments instead');
  return { ok: true, amendments: a.data, original: o.data, amended: merged.data, changed };
}
