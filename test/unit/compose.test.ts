// docker-compose files: validated by Debian's docker-compose (no engine needed),
// and checked for the services, ports and settings the swarm relies on.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { envSchema } from '../../shared/config.ts';

type Service = { image?: string; build?: unknown; ports?: string[]; environment?: Record<string, string>; command?: string[]; depends_on?: Record<string, unknown> };
type Compose = { services: Record<string, Service> };

function compose(...files: string[]): Compose {
  // `config` resolves anchors and merges overrides exactly as `up` would.
  const out = execFileSync('docker-compose', files.flatMap((f) => ['-f', f]).concat('config'), { encoding: 'utf8' });
  return parse(out) as Compose;
}

const known = new Set(Object.keys(envSchema.shape));

describe('docker-compose.yml', () => {
  const base = compose('docker-compose.yml');

  it('has every service the swarm needs', () => {
    expect(Object.keys(base.services).sort()).toEqual(
      ['api', 'facts-worker', 'grafana', 'nats', 'nats-init', 'openfga', 'openfga-migrate', 'otel-collector', 'postgres', 'prometheus', 's3', 'swarm', 'swarm-init', 'wsproxy'].sort(),
    );
    expect(base.services.postgres!.image).toMatch(/^pgvector\/pgvector:.*pg15$/);
    expect(base.services.s3!.image).toMatch(/^minio\/minio:/);
    expect(base.services.openfga!.image).toMatch(/^openfga\/openfga:v\d/);
    expect(base.services['otel-collector']!.image).toMatch(/opentelemetry-collector/);
  });

  it('runs NATS with JetStream and a payload limit above the envelope cap', () => {
    const conf = readFileSync('infra/docker/nats.conf', 'utf8');
    expect(conf).toMatch(/jetstream\s*{/);
    expect(conf).toMatch(/max_payload:\s*8MB/);
  });

  it('points the swarm at the compose services, with only known variables', () => {
    for (const name of ['swarm', 'swarm-init', 'api']) {
      const env = base.services[name]!.environment!;
      expect(env).toMatchObject({
        DATABASE_URL: 'postgresql://swarm:swarm@postgres:5432/swarm',
        PG_WS_PROXY: 'wsproxy:5480',
        NATS_URL: 'nats://nats:4222',
        S3_ENDPOINT: 'http://s3:9000',
        OPENFGA_API_URL: 'http://openfga:8080',
        FACTS_WORKER_URL: 'http://facts-worker:8010',
        OTEL_EXPORTER_OTLP_ENDPOINT: 'http://otel-collector:4318',
        STORAGE_BACKEND: 'minio',
      });
      // A typo in a variable name would silently fall back to a default.
      expect(Object.keys(env).filter((k) => !known.has(k))).toEqual([]);
      // And every value is one the config module accepts.
      expect(() => envSchema.parse(env)).not.toThrow();
    }
    const ports = (s: string) => JSON.stringify(base.services[s]!.ports);
    expect(ports('postgres')).toContain('5432');
    expect(ports('nats')).toContain('4222');
    expect(ports('s3')).toContain('9000');
    expect(ports('openfga')).toContain('8080');
    expect(ports('facts-worker')).toContain('8010');
    expect(ports('api')).toContain('3002');
    expect(ports('prometheus')).toContain('9090');
    expect(ports('grafana')).toContain('3000');
    // Only the API is published beyond the host's loopback.
    for (const [name, svc] of Object.entries(base.services)) {
      for (const p of svc.ports ?? []) if (name !== 'api') expect(p, `${name} publishes ${p}`).toMatch(/^127\.0\.0\.1:/);
    }
    // The bus requires credentials, and OpenFGA its key.
    expect(base.services.nats!.depends_on).toHaveProperty('nats-init');
    expect(base.services.openfga!.environment).toMatchObject({ OPENFGA_AUTHN_METHOD: 'preshared' });
    for (const name of ['swarm', 'api']) expect(base.services[name]!.environment).toMatchObject({ NATS_CREDS_DIR: '/nats-creds', OPENFGA_API_TOKEN: expect.any(String) });
  });
});

describe('Prometheus and Grafana', () => {
  it('scrape the bridge and the API, and the dashboard and alerts use only metrics the code defines', () => {
    const base = compose('docker-compose.yml');
    expect(base.services.swarm!.environment).toMatchObject({ BRIDGE_HEALTH_HOST: '0.0.0.0' });
    const prom = readFileSync('infra/prometheus/prometheus.compose.yml', 'utf8');
    expect(prom).toContain("'swarm:3010'");
    expect(prom).toContain("'api:3002'");
    expect(base.services.api!.environment!.METRICS_TOKEN).toBe('change-me-metrics');
    expect(prom).toContain('credentials: change-me-metrics');
    // The OpenTelemetry names in the code, as Prometheus spells them.
    const src = ['shared/adapters/metrics.ts', 'infra/bridge/metrics.ts'].map((f) => readFileSync(f, 'utf8')).join('\n');
    const defined = new Set([...src.matchAll(/(?:create(?:Histogram|Counter|ObservableGauge)\(|name: )'((?:gswarm|messaging|http)\.[a-z_.]+)'/g)].map((m) => m[1]!.replaceAll('.', '_')));
    expect(defined.size).toBeGreaterThan(15);
    const used = (text: string) => new Set([...text.matchAll(/\b((?:gswarm|messaging|http_server)_[a-z_]+)/g)].map((m) => m[1]!.replace(/_(total|count|bucket|sum)$/, '')));
    const dashboard = readFileSync('infra/grafana/dashboards/governed-swarm.json', 'utf8');
    const exprs = (JSON.parse(dashboard) as { panels: { targets: { expr: string }[] }[] }).panels.flatMap((p) => p.targets.map((t) => t.expr)).join('\n');
    const labels = /^(gswarm|messaging|http)_(outcome|review_kind|scope_status|llm_role|llm_tier|llm_fallback_reason|governance_path|governance_tier|certificate_outcome|consumer_group_name|route|response_status_code|request_method)$/;
    for (const text of [exprs, readFileSync('infra/prometheus/alerts.yml', 'utf8')]) {
      expect([...used(text)].filter((n) => !defined.has(n) && !labels.test(n))).toEqual([]);
    }
  });
});

describe('docker-compose.rustfs.yml', () => {
  it('swaps MinIO for RustFS with no other change to the swarm', () => {
    const base = compose('docker-compose.yml');
    const rust = compose('docker-compose.yml', 'docker-compose.rustfs.yml');
    expect(rust.services.s3!.image).toMatch(/^rustfs\/rustfs:/);
    expect(rust.services.s3!.environment).toMatchObject({ RUSTFS_ACCESS_KEY: 'swarm', RUSTFS_SECRET_KEY: 'swarm-secret' });
    for (const name of ['swarm', 'api']) {
      const { STORAGE_BACKEND, ...rest } = rust.services[name]!.environment!;
      const { STORAGE_BACKEND: before, ...baseRest } = base.services[name]!.environment!;
      expect([before, STORAGE_BACKEND]).toEqual(['minio', 'rustfs']);
      expect(rest).toEqual(baseRest); // same endpoint, keys and bucket
    }
  });
});
