// The deployment's functions, as data, so sst.config.ts and its test agree on them:
// one AWS Lambda per agent step (invoked by the bridge over its function URL) and
// one for the HTTP API. The step names match functions/<name>/index.ts.
export interface DeployedFunction {
  name: string;
  handler: string;
  timeoutSeconds: number;
  memoryMb: number;
}

/** Lambda may run a step a little longer than its own timeout allows for. */
const stepFn = (name: string, timeoutSeconds: number, memoryMb = 512): DeployedFunction => ({
  name,
  handler: `functions/${name}/index.handler`,
  timeoutSeconds,
  memoryMb,
});

export const STEP_FUNCTIONS: readonly DeployedFunction[] = [
  stepFn('facts', 150, 1024),
  stepFn('drift', 150),
  stepFn('planner', 120),
  stepFn('status', 90),
  stepFn('governance', 120),
  stepFn('executor', 60),
  stepFn('finality', 120),
  stepFn('notifier', 90),
];

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
  LLM_PROVIDER: 'none',
};
