// sst.config.ts cannot be deployed here (no AWS); this checks what it would deploy by
// running it against recording stand-ins for SST's globals: a Lambda per agent step
// with a handler that exists, the API, the bridge service calling every step's URL,
// and only settings the config module knows.
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { SWARM_STEPS } from '../../functions/registry.ts';
import { envSchema } from '../../shared/config.ts';
import { EMF_DIMENSION, EMF_METRIC, EMF_NAMESPACE, emfLine } from '../../infra/bridge/emf.ts';
import { LAG_REPORT_MS, llmCloudEnv, stepFunctions } from '../../infra/sst/functions.ts';

type Args = Record<string, unknown>;
const made: { kind: string; name: string; args: Args }[] = [];
const construct = (kind: string, extra: (name: string) => Args = () => ({})) =>
  class {
    constructor(
      readonly name: string,
      readonly args: Args = {},
    ) {
      made.push({ kind, name, args });
      Object.assign(this, extra(name));
    }
  };
const g = globalThis as Record<string, unknown>;
g.$config = (c: unknown) => c;
g.$resolve = (xs: unknown[]) => ({ apply: (fn: (v: unknown[]) => unknown) => fn(xs) });
g.$app = { stage: 'test' };
g.$interpolate = (parts: TemplateStringsArray, ...values: unknown[]) => parts.reduce((out, p, i) => out + p + (i < values.length ? String(values[i]) : ''), '');
g.aws = { appautoscaling: { Policy: construct('Policy') } };
g.sst = {
  Secret: construct('Secret', (n) => ({ value: `<secret ${n}>` })),
  aws: {
    Bucket: construct('Bucket', (n) => ({ name: `${n.toLowerCase()}-bucket` })),
    Function: construct('Function', (n) => ({ url: `https://${n.toLowerCase()}.lambda-url.example` })),
    Vpc: construct('Vpc'),
    Cluster: construct('Cluster', () => ({ nodes: { cluster: { name: 'swarm-cluster' } } })),
    Service: construct('Service', (n) => ({ nodes: { service: { name: `${n.toLowerCase()}-service` } } })),
  },
};

// A computed specifier: tsc must not type-check sst.config.ts against SST's generated types.
const config = (await import(/* @vite-ignore */ pathToFileURL(resolve('sst.config.ts')).href)).default as unknown as { app(i: { stage: string }): Args; run(): Promise<Args> };
const out = await config.run();
const fns = made.filter((m) => m.kind === 'Function');
const service = made.find((m) => m.kind === 'Service')!;

describe('sst.config.ts', () => {
  it('names the app and keeps production data', () => {
    expect(config.app({ stage: 'production' })).toMatchObject({ name: 'governed-swarm', home: 'aws', removal: 'retain', protect: true });
    expect(config.app({ stage: 'dev' })).toMatchObject({ removal: 'remove', protect: false });
    expect(out).toMatchObject({ api: expect.stringContaining('lambda-url'), bucket: 'artifacts-bucket' });
  });

  it('deploys one Lambda per agent step, each with a handler that exists', async () => {
    expect(fns.map((f) => f.name).sort()).toEqual([...SWARM_STEPS.map((s) => `Step-${s.name}`), 'Api'].sort());
    for (const f of fns) {
      const [file, exported] = String(f.args.handler).split(/\.(?=[^.]+$)/);
      expect(existsSync(`${file}.ts`), `${file}.ts`).toBe(true);
      const mod = (await import(/* @vite-ignore */ pathToFileURL(resolve(`${file}.ts`)).href)) as Record<string, unknown>;
      expect(typeof mod[exported!], `${f.args.handler}`).toBe('function');
    }
    // The Lambda timeout leaves room for the step's own.
    for (const s of SWARM_STEPS) {
      const f = fns.find((x) => x.name === `Step-${s.name}`)!;
      expect(Number(String(f.args.timeout).split(' ')[0]) * 1000).toBeGreaterThan(s.timeoutMs);
    }
  });

  it('gives every process settings the config module accepts', () => {
    for (const f of [...fns, service]) {
      const env = f.args.environment as Record<string, string>;
      expect(Object.keys(env).filter((k) => !(k in envSchema.shape))).toEqual([]);
    }
    const env = { ...(fns[0]!.args.environment as Record<string, string>) };
    // Secrets stand in as placeholders here; give them well-formed values.
    Object.assign(env, {
      DATABASE_URL: 'postgresql://u:p@ep-x.neon.tech/db', NATS_URL: 'tls://connect.ngs.global:4222', OPENFGA_API_URL: 'https://fga.example',
      FACTS_WORKER_URL: 'https://worker.example', LLM_BASE_URL: '',
    });
    expect(() => envSchema.parse(env)).not.toThrow();
    expect(env).toMatchObject({ SWARM_ENV: 'production', PG_WS_PROXY: '', S3_ENDPOINT: '' });
  });

  it('runs the bridge as a service that calls every step over its URL', () => {
    expect(service.args.command).toEqual(['npm', 'run', 'bridge']);
    const pkg = JSON.parse(readFileSync('package.json', 'utf8')) as { scripts: Record<string, string> };
    expect(pkg.scripts.bridge).toBeDefined();
    const dockerfile = (service.args.image as { dockerfile: string }).dockerfile;
    expect(existsSync(dockerfile)).toBe(true);
    const env = service.args.environment as Record<string, string>;
    const urls = Object.fromEntries(env.BRIDGE_FUNCTION_URLS!.split(',').map((p) => p.split('=') as [string, string]));
    expect(Object.keys(urls).sort()).toEqual(SWARM_STEPS.map((s) => s.name).sort());
    expect(env.STEP_INVOKE_TOKEN).toBe('<secret StepInvokeToken>');
  });

  it("sizes each Lambda from the step's LLM budgets being deployed, and refuses one Lambda cannot run", () => {
    const seconds = (env: NodeJS.ProcessEnv) => Object.fromEntries(stepFunctions(env).map((f) => [f.name, f.timeoutSeconds]));
    const offline = seconds({});
    const online = seconds({ LLM_PROVIDER: 'openai-compatible', LLM_MODEL: 'm', LLM_TIMEOUT_MS_GOVERNANCE_TOOLS: '300000' });
    // Offline: the step's own work plus a 30 s margin; with a model, each role's timeout is added.
    expect(offline).toMatchObject({ governance: 60, executor: 60, facts: 120 });
    expect(online).toMatchObject({ governance: 60 + 30 + 300, executor: 60, facts: 150 });
    expect(() => stepFunctions({ LLM_PROVIDER: 'openai-compatible', LLM_MODEL: 'm', LLM_TIMEOUT_MS: '600000' })).toThrow(/more than Lambda's 900/);
    expect(() => stepFunctions({ LLM_TIMEOUT_MS_FACTS: '-1' })).toThrow(/LLM_TIMEOUT_MS_FACTS/);
  });

  it('passes the LLM settings of the deploying shell to the cloud, never the key', () => {
    const env = llmCloudEnv({ LLM_PROVIDER: 'openai-compatible', LLM_MODEL: 'm', LLM_MODEL_FACTS: 'x', LLM_API_KEY: 'sk-secret', LLM_BASE_URL: 'https://llm.example/v1' });
    expect(env).toEqual({ LLM_PROVIDER: 'openai-compatible', LLM_MODEL: 'm', LLM_MODEL_FACTS: 'x' });
    expect(llmCloudEnv({})).toEqual({ LLM_PROVIDER: 'none' });
  });

  it('scales the bridge service on the lag per bridge that the bridges report', () => {
    const env = service.args.environment as Record<string, string>;
    expect(env).toMatchObject({ METRICS_EMF_MS: String(LAG_REPORT_MS), METRICS_EMF_STAGE: 'test' });
    expect(() => envSchema.parse({ ...env, DATABASE_URL: 'postgresql://u:p@h/db', NATS_URL: 'nats://h:4222', OPENFGA_API_URL: 'https://fga.example', FACTS_WORKER_URL: '', LLM_BASE_URL: '' })).not.toThrow();
    const policy = made.find((m) => m.kind === 'Policy')!;
    expect(policy.name).toBe('BridgeLagScaling');
    // The scalable target SST made for the service: same cluster and service names.
    expect(policy.args).toMatchObject({ serviceNamespace: 'ecs', scalableDimension: 'ecs:service:DesiredCount', resourceId: 'service/swarm-cluster/bridge-service', policyType: 'TargetTrackingScaling' });
    const spec = (policy.args.targetTrackingScalingPolicyConfiguration as { customizedMetricSpecification: { metrics: { id: string; expression?: string; returnData: boolean; metricStat?: { metric: unknown; stat: string } }[] } }).customizedMetricSpecification;
    // The metric the policy reads is the one the bridge writes: same namespace, name and dimension.
    const line = JSON.parse(emfLine({ stage: 'test', pending: 7, at: 1 })) as Record<string, unknown> & { _aws: { CloudWatchMetrics: { Namespace: string; Dimensions: string[][]; Metrics: { Name: string }[] }[] } };
    const declared = line._aws.CloudWatchMetrics[0]!;
    for (const m of spec.metrics.filter((x) => x.metricStat)) {
      expect(m.metricStat!.metric).toEqual({ namespace: declared.Namespace, metricName: declared.Metrics[0]!.Name, dimensions: [{ name: declared.Dimensions[0]![0], value: line[EMF_DIMENSION] }] });
    }
    expect([EMF_NAMESPACE, EMF_METRIC, line[EMF_METRIC]]).toEqual(['GovernedSwarm', 'ConsumerPending', 7]);
    expect(spec.metrics.filter((x) => x.returnData).map((x) => x.expression)).toEqual(['lag / CEIL(reports / 4)']);
  });
});
