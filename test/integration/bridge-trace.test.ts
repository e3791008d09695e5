// Trace propagation (V11): W3C trace context travels in NATS headers and in the
// HTTP request to the function, so ONE trace spans
//   publisher → bridge → function (in-process) → emitted messages → bridge → function (over HTTP).
// Verified with an in-memory span exporter.
import { InMemorySpanExporter, type ReadableSpan } from '@opentelemetry/sdk-trace-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { publishEnvelope } from '../../shared/adapters/bus.ts';
import { SpanKind, inSpan, initTelemetry, type Telemetry } from '../../shared/adapters/telemetry.ts';
import { loadEnv, type Env } from '../../shared/config.ts';
import { createDeps } from '../../shared/runtime/deps.ts';
import { guardPool } from '../../shared/runtime/guarded.ts';
import { serveStep, type Served } from '../../shared/runtime/serve.ts';
import { freshDatabase, type TestDatabase } from '../support/db.ts';
import { dropStreams, startBridge, type RunningBridge } from '../faults/support/bridge.ts';
import { bridgeEnv, waitFor } from '../faults/support/env.ts';
import { envelope } from '../faults/support/messages.ts';
import { createFixtureTables } from '../fixtures/functions/schema.ts';
import { step as counter } from '../fixtures/functions/counter/index.ts';
import { step as emitter } from '../fixtures/functions/emitter/index.ts';

describe('one trace across NATS and HTTP', () => {
  const exporter = new InMemorySpanExporter();
  let telemetry: Telemetry;
  let db: TestDatabase;
  let env: Env;
  let b: RunningBridge;
  let served: Served;

  beforeAll(async () => {
    telemetry = initTelemetry({ OTEL_EXPORTER_OTLP_ENDPOINT: '', OTEL_SERVICE_NAME: 'trace-test' }, { exporter });
    db = await freshDatabase();
    await createFixtureTables(db.pool);
    env = bridgeEnv(loadEnv(), { DATABASE_URL: db.url });
    const deps = createDeps({ env, db: guardPool(db.pool) });
    served = await serveStep(counter.withDeps(deps), 0); // the counter over HTTP, the emitter in-process
    b = await startBridge(env, db, [emitter, counter], { deps, urls: { counter: served.url } });
  });
  afterAll(async () => {
    await b?.stop();
    await served?.close();
    await telemetry?.shutdown();
    await dropStreams(env);
    await db?.drop();
  });

  it('links every hop to the publisher', async () => {
    const rootTrace = await inSpan('publish emit.requested', { kind: SpanKind.PRODUCER }, undefined, async (span) => {
      await publishEnvelope(b.js, env.NATS_SUBJECT_PREFIX, envelope('emit.requested', 'trace-1', { count: 2 }));
      return span.spanContext().traceId;
    });
    await waitFor('both emitted messages counted', () => b.settled.filter((s) => s.consumer === 'fn-counter' && s.outcome === 'acked').length === 2);
    await waitFor('the counter spans to end', () => exporter.getFinishedSpans().filter((s) => s.name === 'step counter').length === 2);

    const spans = exporter.getFinishedSpans();
    const byName = (n: string) => spans.filter((s) => s.name === n);
    const parentOf = (s: ReadableSpan) => s.parentSpanContext?.spanId;
    const idOf = (s: ReadableSpan) => s.spanContext().spanId;

    // Every span of this flow is in the publisher's trace.
    expect(new Set(spans.map((s) => s.spanContext().traceId))).toEqual(new Set([rootTrace]));

    const [root] = byName('publish emit.requested');
    const [bridgeEmitter] = byName('process fn-emitter');
    const [stepEmitter] = byName('step emitter');
    const emitted = byName('publish count.requested');
    const bridgeCounter = byName('process fn-counter');
    const stepCounter = byName('step counter');

    expect(parentOf(bridgeEmitter!)).toBe(idOf(root!)); // publisher → bridge (NATS headers)
    expect(parentOf(stepEmitter!)).toBe(idOf(bridgeEmitter!)); // bridge → function in-process
    expect(emitted).toHaveLength(2);
    for (const e of emitted) expect(parentOf(e)).toBe(idOf(bridgeEmitter!)); // → emitted messages
    expect(bridgeCounter).toHaveLength(2);
    for (const bc of bridgeCounter) expect(emitted.map(idOf)).toContain(parentOf(bc)); // emitted → next bridge
    expect(stepCounter).toHaveLength(2);
    for (const sc of stepCounter) expect(bridgeCounter.map(idOf)).toContain(parentOf(sc)); // → function over HTTP
    expect(stepCounter.every((s) => s.kind === SpanKind.SERVER && bridgeEmitter!.kind === SpanKind.CONSUMER)).toBe(true);
    expect(stepEmitter!.attributes['messaging.message.id']).toBe('trace-1');
  });
});
