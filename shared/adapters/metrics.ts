// OpenTelemetry metrics, exposed in the Prometheus text format (GET /metrics on the
// bridge's health port, on the API with METRICS_TOKEN). One MeterProvider per process,
// pulled at scrape time: nothing is exported between scrapes.
//
// Until initMetrics() runs (or with METRICS_ENABLED=false) every record* function is a
// check of one variable: the benchmarks' "without metrics" case and processes that do
// not serve /metrics pay nothing.
//
// Label cardinality is bounded everywhere (README "Metrics"): labels take values from
// code (steps, consumers, outcomes, roles, routes, breakers, policy paths) or from
// enums in the schema, except `scope`, which only the N most recently active open
// scopes get (METRICS_SCOPES_MAX); the rest are counted in gswarm_scope_overflow.
import type { Attributes, BatchObservableResult, Counter, Histogram, Meter, Observable } from '@opentelemetry/api';
import { PrometheusExporter, PrometheusSerializer } from '@opentelemetry/exporter-prometheus';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import { breakerStates } from './resilience.ts';

export const METER_NAME = 'governed-swarm';

/** Seconds: a no-op step takes well under a millisecond, an LLM step up to minutes. */
const DURATION_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300];

interface Instruments {
  meter: Meter;
  process: Histogram;
  httpServer: Histogram;
  llmCalls: Counter;
  decisions: Counter;
  reviewsOpened: Counter;
  reviewsAnswered: Counter;
  certificates: Counter;
}

let active: { provider: MeterProvider; exporter: PrometheusExporter; serializer: PrometheusSerializer; inst: Instruments } | undefined;

export interface MetricsConfig {
  METRICS_ENABLED: boolean;
  OTEL_SERVICE_NAME: string;
}

/**
 * Start recording. Returns false (and records nothing) when METRICS_ENABLED=false.
 * A second call replaces the first provider (tests).
 */
export function initMetrics(cfg: MetricsConfig): boolean {
  if (active) void shutdownMetrics();
  if (!cfg.METRICS_ENABLED) return false;
  // The exporter is used as a pull reader only: /metrics is served by our own HTTP apps.
  const exporter = new PrometheusExporter({ preventServerStart: true });
  const provider = new MeterProvider({
    resource: resourceFromAttributes({ 'service.name': cfg.OTEL_SERVICE_NAME }),
    // Two copies of sdk-metrics (the exporter pins its own patch version): same interface.
    readers: [exporter as never],
  });
  const meter = provider.getMeter(METER_NAME);
  const inst: Instruments = {
    meter,
    // OTel messaging semantic conventions: messaging.process.duration, seconds.
    process: meter.createHistogram('messaging.process.duration', {
      unit: 's',
      description: 'Time from the bridge receiving a message to settling it (ack, nak or term), by consumer and outcome',
      advice: { explicitBucketBoundaries: DURATION_BUCKETS },
    }),
    // OTel HTTP semantic conventions: http.server.request.duration, seconds.
    httpServer: meter.createHistogram('http.server.request.duration', {
      unit: 's',
      description: 'API requests by route pattern, method and status',
      advice: { explicitBucketBoundaries: DURATION_BUCKETS },
    }),
    llmCalls: meter.createCounter('gswarm.llm.calls', { description: 'LLM calls by role and the tier that decided (fallback: the deterministic path, with its reason)' }),
    decisions: meter.createCounter('gswarm.governance.decisions', { description: 'Governance decisions recorded, by path, tier and decision' }),
    reviewsOpened: meter.createCounter('gswarm.reviews.opened', { description: 'Human reviews opened, by kind' }),
    reviewsAnswered: meter.createCounter('gswarm.reviews.answered', { description: 'Human reviews answered, by kind and answer' }),
    certificates: meter.createCounter('gswarm.certificates.issued', { description: 'Signed finality certificates, by outcome' }),
  };
  const breaker = meter.createObservableGauge('gswarm.breaker.open', { description: '1 while the named circuit breaker is open (or isolated), else 0' });
  breaker.addCallback((r) => {
    for (const [name, s] of Object.entries(breakerStates())) r.observe(s === 'open' || s === 'isolated' ? 1 : 0, { breaker: name });
  });
  active = { provider, exporter, serializer: new PrometheusSerializer(undefined, false, undefined, false, true), inst };
  return true;
}

export function metricsEnabled(): boolean {
  return active !== undefined;
}

/** The Prometheus text exposition of everything recorded and observed now. */
export async function metricsText(): Promise<string> {
  if (!active) return '';
  const { resourceMetrics, errors } = await active.exporter.collect();
  const text = active.serializer.serialize(resourceMetrics as never);
  // A gauge whose callback failed is left out; say so rather than fail the scrape.
  return errors.length ? `${text}# collection errors: ${errors.length}\n` : text;
}

export const PROMETHEUS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

export async function shutdownMetrics(): Promise<void> {
  const a = active;
  active = undefined;
  await a?.provider.shutdown().catch(() => {});
}

/** Observable gauges registered by a process (the bridge's consumers, SQL figures). Removed with the returned function. */
export function observeBatch(
  names: readonly { name: string; description: string; unit?: string }[],
  callback: (observe: (name: string, value: number, attrs: Attributes) => void) => void | Promise<void>,
): () => void {
  if (!active) return () => {};
  const meter = active.inst.meter;
  const gauges = new Map<string, Observable>(names.map((n) => [n.name, meter.createObservableGauge(n.name, { description: n.description, ...(n.unit ? { unit: n.unit } : {}) })]));
  const cb = async (r: BatchObservableResult) => {
    await callback((name, value, attrs) => {
      const g = gauges.get(name);
      if (g) r.observe(g, value, attrs);
    });
  };
  meter.addBatchObservableCallback(cb, [...gauges.values()]);
  return () => meter.removeBatchObservableCallback(cb, [...gauges.values()]);
}

// ---- recording (each a no-op until initMetrics) ----

/** The bridge's outcomes, named for operators: a transient failure is retried (nak), a dead letter is permanent or out of retries. */
export type ProcessOutcome = 'ok' | 'replayed' | 'transient' | 'permanent' | 'dead_lettered' | 'abandoned';

const processAttrs = new Map<string, Attributes>();
export function recordProcessed(consumer: string, outcome: ProcessOutcome, seconds: number): void {
  if (!active) return;
  const key = `${consumer}\u0000${outcome}`;
  let attrs = processAttrs.get(key);
  if (!attrs) {
    attrs = { 'messaging.system': 'nats', 'messaging.operation.name': 'process', 'messaging.consumer.group.name': consumer, 'gswarm.outcome': outcome };
    processAttrs.set(key, attrs);
  }
  active.inst.process.record(seconds, attrs);
}

const HTTP_METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS']);
/** route: the matched pattern (never the raw path); a method outside the known ones is _OTHER (semantic conventions). */
export function recordHttpRequest(method: string, route: string, status: number, seconds: number): void {
  if (!active) return;
  active.inst.httpServer.record(seconds, {
    'http.request.method': HTTP_METHODS.has(method) ? method : '_OTHER',
    'http.route': route,
    'http.response.status_code': status,
  });
}

const FALLBACK_REASONS = new Set(['no_model', 'breaker_open', 'timeout', 'no_decision']);
/** role: one of LLM_ROLES or `other` (llmRoleOf in shared/llm/roles.ts bounds it). */
export function recordLlmCall(role: string, tier: 'llm' | 'fallback', fallbackReason?: string): void {
  if (!active) return;
  // The reason "error: <message>" is cut to "error": messages are unbounded.
  const reason = tier === 'llm' ? 'none' : fallbackReason && FALLBACK_REASONS.has(fallbackReason) ? fallbackReason : 'error';
  active.inst.llmCalls.add(1, { 'gswarm.llm.role': role, 'gswarm.llm.tier': tier, 'gswarm.llm.fallback_reason': reason });
}

export function recordGovernanceDecision(path: string, tier: number, decision: string): void {
  active?.inst.decisions.add(1, { 'gswarm.governance.path': path, 'gswarm.governance.tier': tier, 'gswarm.governance.decision': decision });
}

export type ReviewKind = 'governance_review' | 'finality_review';
export function recordReviewOpened(kind: ReviewKind): void {
  active?.inst.reviewsOpened.add(1, { 'gswarm.review.kind': kind });
}
export function recordReviewAnswered(kind: ReviewKind, answer: string): void {
  active?.inst.reviewsAnswered.add(1, { 'gswarm.review.kind': kind, 'gswarm.review.answer': answer });
}

export function recordCertificate(outcome: string): void {
  active?.inst.certificates.add(1, { 'gswarm.certificate.outcome': outcome });
}
