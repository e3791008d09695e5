// The deployment's functions, as data, so sst.config.ts and its test agree on them:
// one AWS Lambda per agent step (invoked by the bridge over its function URL) and
// one for the HTTP API. The steps, their budgets and memory come from functions/budgets.ts
// (the data behind functions/registry.ts); the names match functions/<name>/index.ts.
import { STEP_BUDGETS, STEP_MEMORY_MB, STEP_NAMES } from '../../functions/budgets.ts';
import { envSchema, loadEnv, type Env } from '../../shared/config.ts';
import { EMF_DIMENSION, EMF_METRIC, EMF_NAMESPACE } from '../bridge/emf.ts';
import { stepDeadlineMs } from '../../shared/llm/roles.ts';

export interface DeployedFunction {
  name: string;
  handler: string;
  timeoutSeconds: number;
  memoryMb: number;
}

/** Lambda gives a step this much more than its own deadline (cold start, the commit after a late answer). */
const LAMBDA_MARGIN_MS = 30_000;
/** Lambda's own ceiling. */
const LAMBDA_MAX_SECONDS = 900;

/**
 * One Lambda per step, its timeout from the step's budget (functions/budgets.ts) under
 * the LLM settings being deployed: a role given a long LLM_TIMEOUT_MS_<ROLE> lengthens it.
 */
export function stepFunctions(env: NodeJS.ProcessEnv = process.env): DeployedFunction[] {
  const llm = llmEnv(env);
  return STEP_NAMES.map((name) => {
    const timeoutSeconds = Math.ceil((stepDeadlineMs(STEP_BUDGETS[name], llm) + LAMBDA_MARGIN_MS) / 1000);
    if (timeoutSeconds > LAMBDA_MAX_SECONDS) {
      throw new Error(`step ${name} needs ${timeoutSeconds} s, more than Lambda's ${LAMBDA_MAX_SECONDS}: shorten LLM_TIMEOUT_MS or its roles' timeouts`);
    }
    return { name, handler: `functions/${name}/index.handler`, timeoutSeconds, memoryMb: STEP_MEMORY_MB[name] };
  });
}

/**
 * The deploying shell's LLM settings (provider, model, per-role models and timeouts) as
 * plain environment for the cloud processes; the base URL and the key are secrets.
 * Without them the cloud runs offline (LLM_PROVIDER=none), as locally.
 */
export function llmCloudEnv(env: NodeJS.ProcessEnv = process.env): Record<string, string> {
  const keys = Object.keys(envSchema.shape).filter((k) => k.startsWith('LLM_') && k !== 'LLM_BASE_URL' && k !== 'LLM_API_KEY');
  return { LLM_PROVIDER: 'none', ...Object.fromEntries(keys.flatMap((k) => (env[k] ? [[k, env[k]!]] : []))) };
}

/** The same settings validated as the processes will (a wrong value fails the deploy, naming it). */
function llmEnv(env: NodeJS.ProcessEnv): Env {
  return loadEnv({ ...llmCloudEnv(env), LLM_BASE_URL: '', GSWARM_HOME: '/nonexistent' });
}

export const API_FUNCTION: DeployedFunction = { name: 'api', handler: 'functions/api/index.handler', timeoutSeconds: 30, memoryMb: 512 };

/** Secrets set once per stage with `npx sst secret set <Name> <value>`. */
export const SECRETS = {
  DatabaseUrl: 'DATABASE_URL',
  NatsUrl: 'NATS_URL',
  OpenfgaApiUrl: 'OPENFGA_API_URL',
  OpenfgaStoreId: 'OPENFGA_STORE_ID',
  OpenfgaModelId: 'OPENFGA_MODEL_ID',
  FinalitySigningKey: 'FINALITY_SIGNING_KEY',
  FinalityKeyId: 'FINALITY_KEY_ID',
  ApiToken: 'API_TOKEN',
  StepInvokeToken: 'STEP_INVOKE_TOKEN',
  FactsWorkerUrl: 'FACTS_WORKER_URL',
  LlmBaseUrl: 'LLM_BASE_URL',
  LlmApiKey: 'LLM_API_KEY',
} as const;

/** Plain settings for every cloud process (the rest comes from SECRETS). */
export const CLOUD_ENV: Readonly<Record<string, string>> = {
  SWARM_ENV: 'production',
  // On Neon the driver connects over secure WebSockets to the host itself.
  PG_WS_PROXY: '',
  // Real AWS S3: no custom endpoint.
  S3_ENDPOINT: '',
  STORAGE_BACKEND: 's3',
  S3_ACCESS_KEY: '',
  S3_SECRET_KEY: '',
};

/** How often each bridge reports the lag (infra/bridge/emf.ts). */
export const LAG_REPORT_MS = 15_000;
/** Messages waiting per bridge that the service aims at: above it, more bridges; below it, fewer. */
export const LAG_TARGET_PER_BRIDGE = 200;

/**
 * The target-tracking policy on the lag per bridge. Every bridge reports the same
 * shared consumers, so the lag is the Maximum of the reports, and the number of bridges
 * the SampleCount divided by the reports each makes a minute: no Container Insights needed.
 */
export function lagScalingPolicy<R>(stage: string, resourceId: R) {
  const metric = { namespace: EMF_NAMESPACE, metricName: EMF_METRIC, dimensions: [{ name: EMF_DIMENSION, value: stage }] };
  const reportsPerMinute = Math.max(1, Math.round(60_000 / LAG_REPORT_MS));
  return {
    serviceNamespace: 'ecs',
    scalableDimension: 'ecs:service:DesiredCount',
    resourceId,
    policyType: 'TargetTrackingScaling',
    targetTrackingScalingPolicyConfiguration: {
      targetValue: LAG_TARGET_PER_BRIDGE,
      // Out fast when work piles up; in slowly, since a stopping bridge first finishes what it holds.
      scaleOutCooldown: 60,
      scaleInCooldown: 300,
      customizedMetricSpecification: {
        metrics: [
          { id: 'lag', metricStat: { metric, stat: 'Maximum' }, returnData: false },
          { id: 'reports', metricStat: { metric, stat: 'SampleCount' }, returnData: false },
          { id: 'lag_per_bridge', expression: `lag / CEIL(reports / ${reportsPerMinute})`, label: 'pending messages per bridge', returnData: true },
        ],
      },
    },
  };
}
