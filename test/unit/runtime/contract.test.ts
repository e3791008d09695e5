// Envelope decoding at the edge, error classification, emitted-message ids.
import { describe, expect, it } from 'vitest';
import { MAX_ENVELOPE_BYTES, MessageId, decodeEnvelope } from '../../../shared/contract/envelope.ts';
import { PermanentError, classify } from '../../../shared/contract/errors.ts';
import { emitId, toEnvelopes } from '../../../shared/runtime/emit.ts';

const ok = { id: 'm-1', scope: 'acme', type: 'doc.submitted', payload: { a: 1 } };

describe('decodeEnvelope', () => {
  it('accepts a valid envelope from bytes or text, filling defaults and the attempt', () => {
    const e = decodeEnvelope(new TextEncoder().encode(JSON.stringify(ok)), 3);
    expect(e).toEqual({ ...ok, attempt: 3, source: 'unknown' });
    expect(decodeEnvelope(JSON.stringify(ok)).attempt).toBe(1);
  });

  it.each([
    ['not JSON', '{"id":', 'envelope_not_json', /not JSON/],
    ['invalid UTF-8', new Uint8Array([0x7b, 0xff, 0x7d]), 'envelope_not_json', /not JSON/],
    ['an array', '[1,2]', 'envelope_invalid', /\(envelope\): .*expected object/],
    ['a number id', JSON.stringify({ ...ok, id: 7 }), 'envelope_invalid', /id: .*expected string, received number/],
    ['no id', JSON.stringify({ ...ok, id: undefined }), 'envelope_invalid', /id: .*received undefined/],
    ['an id with spaces', JSON.stringify({ ...ok, id: 'a b' }), 'envelope_invalid', /id: id may contain only/],
    ['a bad type', JSON.stringify({ ...ok, type: 'Doc Submitted' }), 'envelope_invalid', /type: type must be/],
    ['too large', JSON.stringify({ ...ok, payload: { x: 'y'.repeat(MAX_ENVELOPE_BYTES) } }), 'envelope_too_large', /more than the 262144 allowed/],
  ])('refuses %s as permanent with a reason', (_label, raw, code, reason) => {
    let err: unknown;
    try {
      decodeEnvelope(raw as string | Uint8Array);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(PermanentError);
    expect((err as PermanentError).code).toBe(code);
    expect((err as PermanentError).message).toMatch(reason);
  });
});

describe('classify', () => {
  it('finds the system error inside a WebSocket ErrorEvent or a cause', () => {
    expect(classify({ type: 'error', message: 'connect ECONNREFUSED', error: Object.assign(new Error('x'), { code: 'ECONNREFUSED' }) })).toMatchObject({
      errorClass: 'transient',
      code: 'ECONNREFUSED',
    });
    expect(classify(new Error('fetch failed', { cause: { code: 'ECONNRESET' } })).code).toBe('ECONNRESET');
  });
  it('treats constraint violations and client errors as permanent', () => {
    expect(classify(Object.assign(new Error('dup'), { code: '23505' })).errorClass).toBe('permanent');
    expect(classify({ name: 'NoSuchKey', message: 'x', $metadata: { httpStatusCode: 404 } }).errorClass).toBe('permanent');
    expect(classify({ name: 'SlowDown', message: 'x', $metadata: { httpStatusCode: 503 } }).errorClass).toBe('transient');
  });
});

describe('emitted message ids', () => {
  it('are deterministic, valid message ids, and differ by step, parent, type and key', () => {
    const id = emitId('facts', 'doc-1', 'facts.extracted', 0);
    expect(emitId('facts', 'doc-1', 'facts.extracted', 0)).toBe(id);
    expect(MessageId.safeParse(id).success).toBe(true);
    const others = [emitId('drift', 'doc-1', 'facts.extracted', 0), emitId('facts', 'doc-2', 'facts.extracted', 0), emitId('facts', 'doc-1', 'facts.other', 0), emitId('facts', 'doc-1', 'facts.extracted', 1)];
    expect(new Set([id, ...others]).size).toBe(5);
    // Chains of derived ids do not grow.
    expect(emitId('facts', 'x'.repeat(200), 't', 'k'.repeat(100)).length).toBeLessThanOrEqual(200);
  });

  it('become complete envelopes that point back at their cause', () => {
    const parent = decodeEnvelope(JSON.stringify(ok));
    const [a, b] = toEnvelopes('facts', parent, [{ type: 'facts.extracted', payload: {} }, { type: 'facts.extracted', key: 'x', scope: 'other', payload: {} }], ['facts.extracted']);
    expect(a).toMatchObject({ id: emitId('facts', 'm-1', 'facts.extracted', 0), scope: 'acme', causation: 'm-1', source: 'facts', attempt: 1 });
    expect(b).toMatchObject({ id: emitId('facts', 'm-1', 'facts.extracted', 'x'), scope: 'other' });
  });

  it('refuses invalid or colliding emits as a permanent error of the step', () => {
    const parent = decodeEnvelope(JSON.stringify(ok));
    expect(() => toEnvelopes('facts', parent, [{ type: 'Bad Type', payload: {} }], ['facts.extracted'])).toThrow(/emitted an invalid message: 0.type/);
    expect(() => toEnvelopes('facts', parent, [{ type: 'a.b', key: 'k', payload: {} }, { type: 'a.b', key: 'k', payload: {} }], ['a.b'])).toThrow(PermanentError);
    // A type outside the step's row of the catalogue: facts cannot approve.
    expect(() => toEnvelopes('facts', parent, [{ type: 'action.approved', payload: {} }], ['facts.extracted', 'proposal.submitted'])).toThrow(/may not emit action.approved/);
  });
});
