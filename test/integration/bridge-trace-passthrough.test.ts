// A bridge that records no spans (no exporter configured) still passes the trace
// on: an emitted message carries the trace id of the message that caused it, so a
// trace is not cut at a process that does not export.
import { context, propagation, trace } from '@opentelemetry/api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { natsHeaders } from '../../shared/adapters/bus.ts';
import { initTelemetry } from '../../shared/adapters/telemetry.ts';
import { loadEnv, type Env } from '../../shared/config.ts';
import { freshDatabase, type TestDatabase } from '../support/db.ts';
import { dropStreams, startBridge, type RunningBridge } from '../faults/support/bridge.ts';
import { bridgeEnv, waitFor } from '../faults/support/env.ts';
import { envelope } from '../faults/support/messages.ts';
import { createFixtureTables } from '../fixtures/functions/schema.ts';
import { step as emitter } from '../fixtures/functions/emitter/index.ts';

describe('trace context through a bridge that records nothing', () => {
  let db: TestDatabase;
  let env: Env;
  let b: RunningBridge;

  beforeAll(async () => {
    trace.disable();
    context.disable();
    propagation.disable();
    initTelemetry({ OTEL_EXPORTER_OTLP_ENDPOINT: '', OTEL_SERVICE_NAME: 'passthrough' }); // the W3C propagator only
    db = await freshDatabase();
    await createFixtureTables(db.pool);
    env = bridgeEnv(loadEnv(), { DATABASE_URL: db.url });
    b = await startBridge(env, db, [emitter]);
  });
  afterAll(async () => {
    await b?.stop();
    await dropStreams(env);
    await db?.drop();
  });

  it('stamps emitted messages with the incoming trace id', async () => {
    const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
    const h = natsHeaders();
    h.set('traceparent', `00-${traceId}-00f067aa0ba902b7-01`);
    await b.js.publish(`${env.NATS_SUBJECT_PREFIX}.acme.emit.requested`, JSON.stringify(envelope('emit.requested', 'pt-1', { count: 1 })), { msgID: 'pt-1', headers: h });
    await waitFor('the emitter to settle', () => b.settled.some((s) => s.outcome === 'acked'));
    const info = await b.jsm.streams.info(env.NATS_STREAM, { subjects_filter: `${env.NATS_SUBJECT_PREFIX}.*.count.requested` });
    expect(Object.values(info.state.subjects ?? {})).toEqual([1]);
    const emitted = await b.jsm.streams.getMessage(env.NATS_STREAM, { last_by_subj: `${env.NATS_SUBJECT_PREFIX}.acme.count.requested` });
    expect(emitted!.header.get('traceparent')).toMatch(new RegExp(`^00-${traceId}-[0-9a-f]{16}-01$`));
  });
});
