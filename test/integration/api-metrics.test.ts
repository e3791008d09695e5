// GET /metrics on the API: only with METRICS_TOKEN configured, and only for that token
// (not the API's own tokens); requests are labelled by route pattern, never the raw path.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initMetrics, shutdownMetrics } from '../../shared/adapters/metrics.ts';
import { startApi, token, type ApiHarness } from './api-harness.ts';

describe('API /metrics', () => {
  let h: ApiHarness;
  const metricsToken = token();

  beforeAll(async () => {
    h = await startApi();
    initMetrics({ METRICS_ENABLED: true, OTEL_SERVICE_NAME: 'api-metrics-test' });
  });
  afterAll(async () => {
    await shutdownMetrics();
    await h?.close();
  });

  it('does not exist without METRICS_TOKEN', async () => {
    expect((await h.call('GET', '/metrics', { token: metricsToken })).status).toBe(404);
  });

  it('wants METRICS_TOKEN, not an API token, and labels requests by route pattern', async () => {
    const app = h.appWith({ METRICS_TOKEN: metricsToken });
    const secretScope = 'scope-that-must-not-be-a-label';
    expect((await h.call('GET', `/v1/scopes/${secretScope}`, { app })).status).toBeGreaterThanOrEqual(200);
    expect((await h.call('GET', '/metrics', { app, token: null })).status).toBe(401);
    expect((await h.call('GET', '/metrics', { app, token: h.tokens.api })).status).toBe(401);
    const r = await h.call('GET', '/metrics', { app, token: metricsToken });
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toContain('text/plain');
    const text = await r.text();
    expect(text).toMatch(/http_server_request_duration_count\{http_request_method="GET",http_route="\/v1\/scopes\/:scope",http_response_status_code="\d+"\} 1/);
    expect(text).not.toContain(secretScope);
  });
});
