// Garbage in, a clear 4xx out, and nothing published or written: property-based
// bodies (fast-check) against every write route of the API on real services. A
// generated body that happens to be valid must be answered as a valid one would be.
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureScope } from '../../shared/usecases/scopes.ts';
import { ErrorBody } from '../../functions/api/errors.ts';
import { startApi, type ApiHarness } from './api-harness.ts';

let h: ApiHarness;
let scope: string;
beforeAll(async () => {
  h = await startApi();
  scope = `fz${Date.now().toString(36)}`;
  await ensureScope(h.guarded, h.admin, { scope });
}, 60_000);
afterAll(async () => h?.close());

// JSON of any shape, with the field names the routes look at mixed in, and raw text that is not JSON at all.
const field = fc.constantFrom('title', 'text', 'doc_id', 'kind', 'mode', 'option', 'days', 'note', '__proto__', 'constructor');
const value = fc.oneof(fc.jsonValue({ maxDepth: 3 }), fc.string({ maxLength: 300 }), fc.integer(), fc.constant(null), fc.double());
const bodies = fc.oneof(
  fc.jsonValue({ maxDepth: 4 }).map((v) => ({ raw: JSON.stringify(v) })),
  fc.dictionary(field, value, { maxKeys: 6 }).map((v) => ({ raw: JSON.stringify(v) })),
  fc.string({ maxLength: 200 }).map((raw) => ({ raw })),
  fc.uint8Array({ maxLength: 200 }).map((b) => ({ raw: Buffer.from(b).toString('latin1') })),
);
const contentTypes = fc.constantFrom('application/json', 'text/plain', 'application/json; charset=utf-8', '', 'application/x-www-form-urlencoded');

async function probe(method: string, path: string, raw: string, type: string) {
  const res = await h.call(method, path, { body: raw, headers: type ? { 'content-type': type } : {} });
  const text = await res.text();
  return { status: res.status, text };
}

describe('fuzzed API bodies', () => {
  it('every write route answers garbage with a 4xx error body naming a code, never a 5xx, and publishes nothing it should not', async () => {
    const routes: [string, string][] = [
      ['POST', `/v1/scopes/${scope}/documents`],
      ['PUT', `/v1/scopes/${scope}x`],
      ['POST', `/v1/reviews/fin-${scope}-x/respond`],
    ];
    let accepted = 0;
    const before = await h.streamMessages();
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...routes), bodies, contentTypes, async ([method, path], { raw }, type) => {
        const { status, text } = await probe(method, path, raw, type);
        expect(status, text).toBeLessThan(500);
        if (status >= 400) {
          const err = ErrorBody.parse(JSON.parse(text));
          expect(err.error.code).toMatch(/^[a-z_]+$/);
        } else if (path.endsWith('/documents')) {
          accepted += JSON.parse(text).duplicate ? 0 : 1;
        }
      }),
      { numRuns: 300 },
    );
    // Only documents that were valid (and new) reached the bus.
    expect((await h.streamMessages()) - before).toBe(accepted);
  }, 120_000);

  it('a 10 MB body, a deeply nested one and a binary one get a clear 4xx, and nothing is published', async () => {
    const before = await h.streamMessages();
    const path = `/v1/scopes/${scope}/documents`;
    const cases: [string, string, number, string][] = [
      ['10 MB', JSON.stringify({ title: 't', text: 'x'.repeat(10 * 1024 * 1024) }), 413, 'application/json'],
      ['nested 100,000 deep', '['.repeat(100_000) + ']'.repeat(100_000), 400, 'application/json'],
      ['nested object 20,000 deep', '{"a":'.repeat(20_000) + '1' + '}'.repeat(20_000), 400, 'application/json'],
      ['binary', Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 7919) % 256)).toString('latin1'), 400, 'application/json'],
    ];
    for (const [what, raw, status, type] of cases) {
      const res = await probe('POST', path, raw, type);
      expect(res.status, what).toBe(status);
      expect(ErrorBody.parse(JSON.parse(res.text)).error.code, what).toMatch(/^[a-z_]+$/);
    }
    expect(await h.streamMessages()).toBe(before);
  });
});
