// The metrics module: Prometheus names and labels as documented (README "Metrics"),
// bounded labels, and nothing recorded while metrics are off.
import { afterEach, describe, expect, it } from 'vitest';
import {
  initMetrics,
  metricsEnabled,
  metricsText,
  recordCertificate,
  recordGovernanceDecision,
  recordHttpRequest,
  recordLlmCall,
  recordProcessed,
  recordReviewAnswered,
  recordReviewOpened,
  shutdownMetrics,
} from '../../shared/adapters/metrics.ts';
import { namedBreaker, registerBreaker, resetBreakers, settingsLike } from '../../shared/adapters/resilience.ts';
import { llmRoleOf } from '../../shared/llm/roles.ts';

const cfg = { METRICS_ENABLED: true, OTEL_SERVICE_NAME: 'metrics-test' };

afterEach(async () => {
  await shutdownMetrics();
  resetBreakers();
});

/** The value of one sample line, by metric name and a label subset. */
function sample(text: string, name: string, labels: Record<string, string>): number | undefined {
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    if (Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`))) return Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return undefined;
}

describe('metrics', () => {
  it('records nothing and serves nothing when disabled', async () => {
    expect(initMetrics({ ...cfg, METRICS_ENABLED: false })).toBe(false);
    expect(metricsEnabled()).toBe(false);
    recordProcessed('fn-facts', 'ok', 0.01);
    expect(await metricsText()).toBe('');
  });

  it('exposes the step histogram by consumer and outcome, in seconds', async () => {
    initMetrics(cfg);
    recordProcessed('fn-facts', 'ok', 0.004);
    recordProcessed('fn-facts', 'ok', 0.2);
    recordProcessed('fn-facts', 'dead_lettered', 1.5);
    const t = await metricsText();
    expect(t).toContain('# TYPE messaging_process_duration histogram');
    expect(sample(t, 'messaging_process_duration_count', { messaging_consumer_group_name: 'fn-facts', gswarm_outcome: 'ok' })).toBe(2);
    expect(sample(t, 'messaging_process_duration_bucket', { gswarm_outcome: 'ok', le: '0.005' })).toBe(1);
    expect(sample(t, 'messaging_process_duration_count', { gswarm_outcome: 'dead_lettered' })).toBe(1);
  });

  it('keeps labels bounded: roles from step names, error messages cut to "error", unknown methods _OTHER', async () => {
    initMetrics(cfg);
    expect(llmRoleOf('governance-agent')).toBe('governance_tools');
    expect(llmRoleOf('review-explanation')).toBe('review_explanation');
    expect(llmRoleOf('facts')).toBe('facts');
    expect(llmRoleOf('something-new')).toBe('other');
    recordLlmCall('planner', 'fallback', 'error: socket hang up at 10.0.0.7:443');
    recordLlmCall('planner', 'fallback', 'timeout');
    recordLlmCall('planner', 'llm');
    recordHttpRequest('BREW', '/v1/scopes/:scope', 405, 0.001);
    const t = await metricsText();
    expect(t).not.toContain('socket hang up');
    expect(sample(t, 'gswarm_llm_calls_total', { gswarm_llm_role: 'planner', gswarm_llm_fallback_reason: 'error' })).toBe(1);
    expect(sample(t, 'gswarm_llm_calls_total', { gswarm_llm_role: 'planner', gswarm_llm_fallback_reason: 'timeout' })).toBe(1);
    expect(sample(t, 'gswarm_llm_calls_total', { gswarm_llm_tier: 'llm' })).toBe(1);
    expect(sample(t, 'http_server_request_duration_count', { http_request_method: '_OTHER', http_route: '/v1/scopes/:scope' })).toBe(1);
  });

  it('counts decisions, reviews and certificates, and shows an open breaker', async () => {
    initMetrics(cfg);
    recordGovernanceDecision('processProposal', 1, 'approve');
    recordReviewOpened('finality_review');
    recordReviewAnswered('governance_review', 'reject');
    recordCertificate('RESOLVED');
    const b = registerBreaker('llm', settingsLike('llm', { threshold: 1 }));
    await b.execute(() => Promise.reject(Object.assign(new Error('down'), { code: 'ECONNREFUSED' }))).catch(() => {});
    namedBreaker('postgres');
    const t = await metricsText();
    expect(sample(t, 'gswarm_governance_decisions_total', { gswarm_governance_path: 'processProposal', gswarm_governance_tier: '1' })).toBe(1);
    expect(sample(t, 'gswarm_reviews_opened_total', { gswarm_review_kind: 'finality_review' })).toBe(1);
    expect(sample(t, 'gswarm_reviews_answered_total', { gswarm_review_answer: 'reject' })).toBe(1);
    expect(sample(t, 'gswarm_certificates_issued_total', { gswarm_certificate_outcome: 'RESOLVED' })).toBe(1);
    expect(sample(t, 'gswarm_breaker_open', { breaker: 'llm' })).toBe(1);
    expect(sample(t, 'gswarm_breaker_open', { breaker: 'postgres' })).toBe(0);
  });
});
