// The step runtime with the in-memory inbox: the Hono app's answers, the Lambda
// adapter, replays, released claims, claims held by another run.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { loadEnv } from '../../../shared/config.ts';
import { TransientError } from '../../../shared/contract/errors.ts';
import { StepResponse } from '../../../shared/contract/result.ts';
import { createDeps } from '../../../shared/runtime/deps.ts';
import { MemoryIdempotencyStore } from '../../../shared/runtime/inbox/memory.ts';
import { lambdaHandler } from '../../../shared/runtime/lambda.ts';
import { defineStep, type StepDefinition } from '../../../shared/runtime/step.ts';

const env = loadEnv({ GSWARM_HOME: '/nonexistent' });
const msg = (id: string, extra: Record<string, unknown> = {}) => JSON.stringify({ id, scope: 'acme', type: 'a.b', payload: {}, ...extra });

function harness(handle: StepDefinition['handle'], opts: Partial<StepDefinition> = {}) {
  const inbox = new MemoryIdempotencyStore();
  const deps = createDeps({ env, inbox: inbox as never });
  const step = defineStep({ name: 'unit', consumes: ['a.b'], emits: ['a.c'], handle, ...opts }, deps);
  return { step, inbox };
}

describe('step app', () => {
  it('answers 200 with the emitted envelopes, 422 for a permanent failure, 503 for a transient one', async () => {
    const { step } = harness(async (m) => {
      if (m.payload.fail === 't') throw new TransientError('busy', 'try later');
      return { emit: [{ type: 'a.c', payload: { of: m.id } }] };
    });
    const post = (body: string) => step.app.request('/invoke', { method: 'POST', body, headers: { 'x-gswarm-attempt': '2' } });
    const ok = await post(msg('m1'));
    expect(ok.status).toBe(200);
    const body = StepResponse.parse(await ok.json());
    expect(body).toMatchObject({ ok: true, replayed: false, emit: [{ type: 'a.c', causation: 'm1', scope: 'acme' }] });
    expect((await post('{oops')).status).toBe(422);
    expect(await (await post(msg('m2', { type: 'x.y' }))).json()).toMatchObject({ ok: false, error: { class: 'permanent', code: 'unexpected_type' } });
    const t = await post(msg('m3', { payload: { fail: 't' } }));
    expect([t.status, ((await t.json()) as { error: { code: string } }).error.code]).toEqual([503, 'busy']);
    expect((await step.app.request('/healthz')).status).toBe(200);
  });

  it('refuses an oversized body before reading it', async () => {
    const { step } = harness(async () => ({}));
    const res = await step.app.request('/invoke', { method: 'POST', body: 'x'.repeat(300 * 1024), headers: { 'content-length': String(300 * 1024) } });
    expect(res.status).toBe(422);
    expect(await res.json()).toMatchObject({ ok: false, error: { class: 'permanent', code: 'envelope_too_large' } });
  });

  it('runs as a Lambda behind API Gateway', async () => {
    const { step } = harness(async () => ({ result: 'done' }));
    const res = (await lambdaHandler(step)({
      version: '2.0',
      routeKey: 'POST /invoke',
      rawPath: '/invoke',
      rawQueryString: '',
      headers: { 'content-type': 'application/json', host: 'fn.example' },
      requestContext: { http: { method: 'POST', path: '/invoke', protocol: 'HTTP/1.1', sourceIp: '1.2.3.4', userAgent: 't' }, requestId: 'r', routeKey: 'POST /invoke', stage: '$default', accountId: '1', apiId: 'a', domainName: 'fn.example', domainPrefix: 'fn', time: '', timeEpoch: 0 },
      body: msg('lambda-1'),
      isBase64Encoded: false,
    } as never)) as { statusCode: number; body: string };
    expect(res.statusCode).toBe(200);
    expect(JSON.parse(res.body)).toMatchObject({ ok: true, result: 'done' });
  });
});

describe('effectively once with the in-memory inbox', () => {
  it('a message type the step did not declare is refused before its writes commit: nothing stored, a permanent error', async () => {
    let wrote = false;
    const { step, inbox } = harness(async (_m, ctx) =>
      ctx.commit(async () => {
        wrote = true;
        return { emit: [{ type: 'action.approved', payload: {} }] };
      }),
    );
    expect(await step.invoke(msg('m1'))).toMatchObject({ ok: false, error: { class: 'permanent', code: 'emit_not_allowed' } });
    expect(wrote).toBe(true);
    expect(await inbox.get({ consumer: 'unit', messageId: 'm1', scope: 'acme' })).toBeUndefined();
  });

  it('returns the stored result for a redelivery without running the handler', async () => {
    let runs = 0;
    const { step } = harness(async () => (runs++, { emit: [{ type: 'a.c', payload: {} }], result: runs }));
    const first = await step.invoke(msg('m1'));
    const again = await step.invoke(msg('m1'), { attempt: 2 });
    expect(runs).toBe(1);
    expect(again).toEqual({ ...first, replayed: true });
  });

  it('gives the claim back after a failure so the retry runs at once', async () => {
    let runs = 0;
    const { step } = harness(async () => {
      if (++runs === 1) throw new TransientError('flaky', 'once');
      return { result: runs };
    });
    expect(await step.invoke(msg('m1'))).toMatchObject({ ok: false, error: { code: 'flaky' } });
    expect(await step.invoke(msg('m1'), { attempt: 2 })).toMatchObject({ ok: true, result: 2, replayed: false });
  });

  it('tells a second run to come back when the first one’s claim expires', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const { step } = harness(async () => (await gate, {}), { timeoutMs: 10_000 });
    const first = step.invoke(msg('m1'));
    await new Promise((r) => setTimeout(r, 5));
    const second = await step.invoke(msg('m1'));
    expect(second).toMatchObject({ ok: false, error: { class: 'transient', code: 'in_progress' } });
    expect(!second.ok && second.error.retryAfterMs).toBeGreaterThan(10_000);
    release();
    expect(await first).toMatchObject({ ok: true });
  });

  it("passes a transient error's retry-after on to the bridge", async () => {
    const { step } = harness(async () => {
      throw new TransientError('http_429', 'slow down', { retryAfterMs: 7_000 });
    });
    expect(await step.invoke(msg('m1'))).toMatchObject({ ok: false, error: { class: 'transient', code: 'http_429', retryAfterMs: 7_000 } });
  });

  it('refuses a second commit, and a commit after the step ran out of time', async () => {
    const twice = harness(async (_m, ctx) => {
      await ctx.commit(async () => ({}));
      return ctx.commit(async () => ({}));
    });
    // The first commit stands; the failure after it cannot undo it.
    expect(await twice.step.invoke(msg('m1'))).toMatchObject({ ok: true });
    const late = harness(async (_m, ctx) => {
      await new Promise((r) => setTimeout(r, 50));
      return ctx.commit(async () => ({ result: 'late' }));
    }, { timeoutMs: 10 });
    expect(await late.step.invoke(msg('m2'))).toMatchObject({ ok: false, error: { code: 'timeout' } });
    await new Promise((r) => setTimeout(r, 80));
    expect(await late.inbox.get({ consumer: 'unit', messageId: 'm2' })).toBeUndefined();
  });

  it('cancelling the invocation stops the step and releases its claim', async () => {
    const { step, inbox } = harness(async (_m, ctx) => {
      await new Promise((_r, reject) => ctx.signal.addEventListener('abort', () => reject(ctx.signal.reason)));
      return {};
    });
    const ac = new AbortController();
    const running = step.invoke(msg('m1'), { signal: ac.signal });
    await new Promise((r) => setTimeout(r, 5));
    ac.abort();
    expect(await running).toMatchObject({ ok: false, error: { class: 'transient', code: 'cancelled' } });
    expect(inbox.records.size).toBe(0);
  });
});

describe('claim lease', () => {
  // Fake timers: the heartbeat and the memory store's clock move only when the test says so.
  beforeEach(() => vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'] }));
  afterEach(() => vi.useRealTimers());

  it('is renewed while the step runs, so the claim outlives its lease; a crashed run frees it after one lease', async () => {
    const inbox = new MemoryIdempotencyStore();
    const deps = createDeps({ env: { ...env, INBOX_LEASE_MS: 120 }, inbox: inbox as never });
    let release!: () => void;
    const running = new Promise<void>((r) => (release = r));
    const step = defineStep({ name: 'unit', consumes: ['a.b'], emits: [], timeoutMs: 60_000, handle: () => running }, deps);
    const t0 = Date.now();
    const first = step.invoke(msg('lease-1'));
    await vi.advanceTimersByTimeAsync(0);
    // The claim holds a 120 ms lease, not the 60 s timeout: a dead run would free it soon.
    const rec = () => [...inbox.records.values()][0] as { status: string; until: number };
    expect(rec()).toMatchObject({ status: 'in_progress', until: t0 + 120 });
    // Ten leases later the heartbeat (every 40 ms) has kept renewing it.
    await vi.advanceTimersByTimeAsync(1_200);
    expect(rec().status).toBe('in_progress');
    expect(rec().until).toBeGreaterThan(Date.now());
    expect(await step.invoke(msg('lease-1'))).toMatchObject({ ok: false, error: { code: 'in_progress', kind: 'contention' } });
    release();
    expect(await first).toMatchObject({ ok: true, replayed: false });
  });

  it('stops a run whose lease lapsed and was taken over', async () => {
    const inbox = new MemoryIdempotencyStore();
    const deps = createDeps({ env: { ...env, INBOX_LEASE_MS: 90 }, inbox: inbox as never });
    const step = defineStep({ name: 'unit', consumes: ['a.b'], emits: [], timeoutMs: 60_000, handle: () => new Promise(() => {}) }, deps);
    const first = step.invoke(msg('lease-2'));
    await vi.advanceTimersByTimeAsync(0);
    // The clock jumps past the lease before a beat (a stalled process): another run takes over.
    vi.setSystemTime(Date.now() + 10_000);
    expect(await inbox.claim({ consumer: 'unit', messageId: 'lease-2' }, 90)).toMatchObject({ kind: 'claimed' });
    await vi.advanceTimersByTimeAsync(30);
    expect(await first).toMatchObject({ ok: false, error: { class: 'transient', code: 'claim_lost', kind: 'contention' } });
  });
});
