// OpenTelemetry tracing (V11). One provider per process; spans leave through OTLP
// over HTTP when OTEL_EXPORTER_OTLP_ENDPOINT is set, and tests hand in their own
// exporter. Trace context crosses NATS in message headers (W3C `traceparent` /
// `tracestate`) and crosses HTTP in the same headers, so one trace spans
// publisher → bridge → function → emitted messages → the next function.
import {
  context,
  propagation,
  trace,
  type Context,
  type Span,
  type SpanOptions,
  type TextMapGetter,
  type TextMapSetter,
  type Tracer,
} from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  BatchSpanProcessor,
  NodeTracerProvider,
  SimpleSpanProcessor,
  type SpanExporter,
} from '@opentelemetry/sdk-trace-node';
import type { Env } from '../config.ts';

export { ROOT_CONTEXT, SpanKind, SpanStatusCode, context, trace, type Context, type Span } from '@opentelemetry/api';

export const TRACER_NAME = 'governed-swarm';

export type TelemetryConfig = Pick<Env, 'OTEL_EXPORTER_OTLP_ENDPOINT' | 'OTEL_SERVICE_NAME'>;

export interface Telemetry {
  /** Export what is buffered and stop. */
  shutdown(): Promise<void>;
}

let active: NodeTracerProvider | undefined;

/**
 * Register the W3C propagator always (so context passes through even when this
 * process records nothing), and a tracer provider when there is somewhere to send
 * spans: an OTLP endpoint, or `exporter` (tests: InMemorySpanExporter, exported at
 * once so assertions see every span).
 */
export function initTelemetry(cfg: TelemetryConfig, opts: { exporter?: SpanExporter } = {}): Telemetry {
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  const processors = opts.exporter
    ? [new SimpleSpanProcessor(opts.exporter)]
    : cfg.OTEL_EXPORTER_OTLP_ENDPOINT
      ? [new BatchSpanProcessor(new OTLPTraceExporter({ url: `${cfg.OTEL_EXPORTER_OTLP_ENDPOINT.replace(/\/$/, '')}/v1/traces` }))]
      : [];
  if (processors.length === 0) return { shutdown: async () => {} };
  // A second init (tests) replaces the first provider instead of stacking.
  if (active) {
    void active.shutdown();
    trace.disable();
    context.disable();
  }
  const provider = new NodeTracerProvider({
    resource: resourceFromAttributes({ 'service.name': cfg.OTEL_SERVICE_NAME }),
    spanProcessors: processors,
  });
  provider.register({ propagator: new W3CTraceContextPropagator() });
  active = provider;
  return {
    async shutdown() {
      await provider.shutdown();
      if (active === provider) active = undefined;
    },
  };
}

export function tracer(): Tracer {
  return trace.getTracer(TRACER_NAME);
}

/** Run fn inside a new active span; the span ends (with the error recorded) when fn settles. */
export async function inSpan<T>(
  name: string,
  opts: SpanOptions,
  parent: Context | undefined,
  fn: (span: Span) => Promise<T>,
): Promise<T> {
  return tracer().startActiveSpan(name, opts, parent ?? context.active(), async (span) => {
    try {
      return await fn(span);
    } catch (err) {
      span.recordException(err as Error);
      span.setStatus({ code: 2, message: (err as Error).message });
      throw err;
    } finally {
      span.end();
    }
  });
}

/** The minimal header surface shared by NATS MsgHdrs and the Fetch API Headers. */
export interface HeaderCarrier {
  get(key: string): string | null | undefined;
  set(key: string, value: string): void;
}

const getter: TextMapGetter<HeaderCarrier | undefined> = {
  get: (carrier, key) => carrier?.get(key) || undefined,
  keys: () => ['traceparent', 'tracestate'],
};
const setter: TextMapSetter<HeaderCarrier> = { set: (carrier, key, value) => carrier.set(key, value) };

/** Write the active (or given) context into NATS or HTTP headers. */
export function injectContext(headers: HeaderCarrier, ctx: Context = context.active()): void {
  propagation.inject(ctx, headers, setter);
}

/** The context carried by NATS or HTTP headers (the active one when there is none). */
export function extractContext(headers: HeaderCarrier | undefined, base: Context = context.active()): Context {
  return headers ? propagation.extract(base, headers, getter) : base;
}
