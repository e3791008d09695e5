// Envelopes the API publishes: deterministic ids (what makes a retry a duplicate),
// valid catalogue payloads, and the size bound.
import { describe, expect, it } from 'vitest';
import { answerHash, documentEnvelope, requestHash, responseEnvelope } from '../../../functions/api/publish.ts';
import { ApiError } from '../../../functions/api/errors.ts';
import { Envelope, MAX_ENVELOPE_BYTES } from '../../../shared/contract/envelope.ts';
import { DocSubmitted, ReviewResponded } from '../../../shared/contract/messages.ts';

const d = { title: 'Memo', text: 'We will hire 20 engineers.', kind: 'document' as const };

describe('documentEnvelope', () => {
  it('is a valid doc.submitted envelope whose id and doc_id depend only on the submission', () => {
    const a = documentEnvelope('acme', d, 'agent:api');
    expect(Envelope.parse(a)).toEqual(a);
    expect(a).toMatchObject({ scope: 'acme', type: 'doc.submitted', source: 'api', attempt: 1 });
    expect(DocSubmitted.parse(a.payload)).toMatchObject({ title: 'Memo', submitted_by: 'agent:api', kind: 'document' });
    const b = documentEnvelope('acme', { ...d, title: ' Memo ', text: ` ${d.text}\n` }, 'user:someone-else');
    expect([b.id, b.payload.doc_id]).toEqual([a.id, a.payload.doc_id]); // same document, whoever sends it
    for (const other of [
      documentEnvelope('beta', d, 'agent:api'),
      documentEnvelope('acme', { ...d, text: 'We will hire 21 engineers.' }, 'agent:api'),
      documentEnvelope('acme', { ...d, kind: 'resolution' }, 'agent:api'),
      documentEnvelope('acme', { ...d, doc_id: 'memo-1' }, 'agent:api'),
    ]) {
      expect(other.id).not.toBe(a.id);
    }
  });

  it('an Idempotency-Key is bound to the request body: any change of it is another request hash', () => {
    const a = requestHash(d);
    expect(requestHash({ ...d })).toBe(a);
    for (const other of [{ ...d, text: 'changed' }, { ...d, title: 'Memo 2' }, { ...d, doc_id: 'memo-1' }, { ...d, kind: 'resolution' as const }]) {
      expect(requestHash(other)).not.toBe(a);
    }
  });

  it('refuses a document whose message would exceed MAX_ENVELOPE_BYTES with a 413', () => {
    let err: unknown;
    try {
      documentEnvelope('acme', { ...d, text: '€'.repeat(100_000) }, 'agent:api');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ApiError);
    expect(err).toMatchObject({ status: 413, code: 'document_too_large' });
    expect((err as Error).message).toMatch(new RegExp(`more than the ${MAX_ENVELOPE_BYTES} allowed`));
  });
});

describe('responseEnvelope', () => {
  const p = { review_id: 'fin-acme-1', kind: 'finality_review' as const, option: 'defer' as const, days: 7, responder: 'user:operator', access_id: 41 };
  it('the same response is the same message; any difference is another', () => {
    const a = responseEnvelope('acme', p);
    expect(ReviewResponded.parse(a.payload)).toEqual(p);
    expect(responseEnvelope('acme', { ...p }).id).toBe(a.id);
    for (const q of [{ ...p, days: 8 }, { ...p, option: 'escalate' as const, days: undefined }, { ...p, note: 'n' }, { ...p, responder: 'user:alice' }]) {
      expect(responseEnvelope('acme', q).id).not.toBe(a.id);
    }
    // A retried request is recorded again (another access row) but is the same answer: the same message.
    expect(responseEnvelope('acme', { ...p, access_id: 42 }).id).toBe(a.id);
  });
  it("an answer's hash covers the response and a resolution's text", () => {
    const a = responseEnvelope('acme', p);
    expect(answerHash(a, undefined)).toBe(answerHash(responseEnvelope('acme', { ...p }), undefined));
    expect(answerHash(a, 'text')).not.toBe(answerHash(a, undefined));
    expect(answerHash(responseEnvelope('acme', { ...p, days: 8 }), undefined)).not.toBe(answerHash(a, undefined));
  });
  it('amendments are part of the answer: other amendments are another answer, the same ones in another key order the same', () => {
    const approve = { review_id: 'gov-1', kind: 'governance_review' as const, option: 'approve' as const, responder: 'user:operator', access_id: 41 };
    const plain = responseEnvelope('acme', approve);
    const amended = responseEnvelope('acme', { ...approve, amendments: { reason: 'r', plan: { actions: ['a'] } } });
    expect(ReviewResponded.parse(amended.payload).amendments).toEqual({ reason: 'r', plan: { actions: ['a'] } });
    expect(amended.id).not.toBe(plain.id);
    expect(responseEnvelope('acme', { ...approve, amendments: { plan: { actions: ['a'] }, reason: 'r' } }).id).toBe(amended.id);
    expect(responseEnvelope('acme', { ...approve, amendments: { reason: 'r', plan: { actions: ['b'] } } }).id).not.toBe(amended.id);
  });
});
