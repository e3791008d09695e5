// GET /v1/scopes/{scope}/events: the scope's messages as server-sent events, from a
// JetStream ordered consumer that is gone once the client is.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../faults/support/env.ts';
import { uniq } from '../support/ids.ts';
import { SseReader, startApi, type ApiHarness } from './api-harness.ts';

let h: ApiHarness;
let a: string;
let b: string;
beforeAll(async () => {
  h = await startApi();
  [a, b] = [uniq('ev-a-'), uniq('ev-b-')];
  for (const s of [a, b]) expect((await h.call('PUT', `/v1/scopes/${s}`)).status).toBe(201);
});
afterAll(async () => h?.close());

const consumers = async () => {
  const out: string[] = [];
  for await (const c of await h.jsm.consumers.list(h.env.NATS_STREAM)) out.push(c.name);
  return out;
};
const submit = async (scope: string, title: string) => {
  const res = await h.call('POST', `/v1/scopes/${scope}/documents`, { json: { title, text: `${title}: body text` } });
  expect(res.status).toBe(202);
  return (await res.json()) as { message_id: string; stream_seq: number };
};
const open = async (path: string, headers: Record<string, string> = {}, token = h.tokens.operator) => {
  const ac = new AbortController();
  const res = await h.app.request(path, { headers: { authorization: `Bearer ${token}`, ...headers }, signal: ac.signal });
  return { res, ac };
};

describe('event stream', () => {
  it("delivers the scope's messages (event: type, id: stream seq, data: envelope) and not another scope's", async () => {
    const { res } = await open(`/v1/scopes/${a}/events`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const sse = new SseReader(res);
    const ready = await sse.waitFor((e) => e.event === 'ready');
    expect(JSON.parse(ready.data!)).toEqual({ scope: a, from_seq: null });
    expect(await consumers()).toHaveLength(1);

    const other = await submit(b, 'other scope');
    const mine = await submit(a, 'my scope');
    const ev = await sse.waitFor((e) => e.event === 'doc.submitted');
    expect(ev.id).toBe(String(mine.stream_seq));
    const env = JSON.parse(ev.data!);
    expect(env).toMatchObject({ id: mine.message_id, scope: a, type: 'doc.submitted', payload: { title: 'my scope', submitted_by: 'agent:api' } });
    // A keep-alive comment arrives while idle (1 s in this test), and still nothing of scope b.
    await sse.waitFor((e) => e.comment === 'keep-alive', 5_000);
    expect(sse.events.filter((e) => e.id === String(other.stream_seq) || e.data?.includes(b))).toEqual([]);

    await sse.cancel();
    await waitFor('the consumer to be deleted', async () => (await consumers()).length === 0, { timeoutMs: 5_000 });
  });

  it('resumes after Last-Event-ID, or after ?since=', async () => {
    const first = await submit(a, 'resume one');
    const second = await submit(a, 'resume two');
    for (const [path, headers] of [
      [`/v1/scopes/${a}/events`, { 'last-event-id': String(first.stream_seq) }],
      [`/v1/scopes/${a}/events?since=${first.stream_seq}`, {}],
      // Last-Event-ID (a reconnecting browser) wins over the original URL's since.
      [`/v1/scopes/${a}/events?since=0`, { 'Last-Event-ID': String(first.stream_seq) }],
    ] as const) {
      const { res } = await open(path, headers);
      const sse = new SseReader(res);
      expect(JSON.parse((await sse.waitFor((e) => e.event === 'ready')).data!)).toEqual({ scope: a, from_seq: first.stream_seq + 1 });
      const ev = await sse.waitFor((e) => e.event === 'doc.submitted');
      expect([path, ev.id]).toEqual([path, String(second.stream_seq)]);
      await sse.cancel();
    }
    const { res } = await open(`/v1/scopes/${a}/events?since=0`);
    const sse = new SseReader(res);
    const ev = await sse.waitFor((e) => e.event === 'doc.submitted');
    expect(JSON.parse(ev.data!).scope).toBe(a);
    await sse.cancel();
    await waitFor('no consumer left', async () => (await consumers()).length === 0, { timeoutMs: 5_000 });
  });

  it('aborting the request also ends the stream and deletes the consumer', async () => {
    const { res, ac } = await open(`/v1/scopes/${a}/events`);
    const sse = new SseReader(res);
    await sse.waitFor((e) => e.event === 'ready');
    expect(await consumers()).toHaveLength(1);
    ac.abort();
    await waitFor('no consumer left', async () => (await consumers()).length === 0, { timeoutMs: 5_000 });
  });

  it('a shutdown ends every open stream; new ones are refused with 503', async () => {
    const stop = new AbortController();
    const app = h.appWith({}, { shutdown: stop.signal });
    const streams = await Promise.all(
      [a, b].map(async (s) => {
        const res = await app.request(`/v1/scopes/${s}/events`, { headers: { authorization: `Bearer ${h.tokens.operator}` } });
        const sse = new SseReader(res);
        await sse.waitFor((e) => e.event === 'ready');
        return sse;
      }),
    );
    expect(await consumers()).toHaveLength(2);
    stop.abort();
    for (const sse of streams) await expect(sse.waitFor(() => false, 5_000)).rejects.toThrow('stream ended');
    expect(await consumers()).toEqual([]);
    const late = await app.request(`/v1/scopes/${a}/events`, { headers: { authorization: `Bearer ${h.tokens.operator}` } });
    expect(late.status).toBe(503);
    expect(((await late.json()) as { error: { code: string } }).error.code).toBe('shutting_down');
  });

  it('is refused past API_SSE_MAX_STREAMS, for bad resume points, without the reader relation (404, recorded), and for unknown scopes', async () => {
    const app = h.appWith({ API_SSE_MAX_STREAMS: 1 });
    const auth = { authorization: `Bearer ${h.tokens.operator}` };
    const one = new SseReader(await app.request(`/v1/scopes/${a}/events`, { headers: auth }));
    await one.waitFor((e) => e.event === 'ready');
    const two = await app.request(`/v1/scopes/${a}/events`, { headers: auth });
    expect(two.status).toBe(503);
    expect(((await two.json()) as { error: { code: string } }).error.code).toBe('too_many_streams');
    await one.cancel();

    for (const [path, headers, status, re] of [
      [`/v1/scopes/${a}/events?since=-1`, {}, 400, /^query\.since: /],
      [`/v1/scopes/${a}/events?since=abc`, {}, 400, /^query\.since: /],
      [`/v1/scopes/${a}/events`, { 'last-event-id': 'x1' }, 400, /^header\.Last-Event-ID: must be a stream sequence number/],
    ] as const) {
      const res = await h.app.request(path, { headers: { ...auth, ...headers } });
      expect(res.status).toBe(status);
      expect(((await res.json()) as { error: { message: string } }).error.message).toMatch(re);
    }
    const denied = await h.app.request(`/v1/scopes/${a}/events`, { headers: { authorization: `Bearer ${h.tokens.intruder}` } });
    expect(denied.status).toBe(404); // as for a missing scope: the intruder cannot read this one
    const { rows } = await h.db.pool.query('SELECT action, allowed FROM access_log WHERE request_id = $1', [denied.headers.get('x-request-id')]);
    expect(rows).toEqual([{ action: 'events.read', allowed: false }]);
    await waitFor('no consumer left', async () => (await consumers()).length === 0, { timeoutMs: 5_000 });
  });
});
