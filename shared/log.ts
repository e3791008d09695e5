// Structured JSON logs (pino): one object per line, with the trace id when a span
// is active so logs and traces join up.
import { trace } from '@opentelemetry/api';
import { pino, type Logger } from 'pino';

export type { Logger };

const level = process.env.LOG_LEVEL ?? (process.env.VITEST ? 'silent' : 'info');

export const rootLogger: Logger = pino({
  level,
  base: { service: process.env.OTEL_SERVICE_NAME ?? 'governed-swarm' },
  timestamp: pino.stdTimeFunctions.isoTime,
  mixin() {
    const span = trace.getActiveSpan();
    if (!span) return {};
    const c = span.spanContext();
    return { trace_id: c.traceId, span_id: c.spanId };
  },
});

export function logger(component: string, bindings: Record<string, unknown> = {}): Logger {
  return rootLogger.child({ component, ...bindings });
}
