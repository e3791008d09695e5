/// <reference path="./.sst/platform/config.d.ts" />
// SST v3 deployment to AWS (`npx sst deploy --stage <stage>`, with the `sst` CLI
// installed and AWS credentials): one Lambda per agent step and one for the API,
// an S3 bucket for the artifacts, and the bridge as an always-on container service
// that pulls from NATS and calls each step's function URL. Postgres is Neon (the
// same @neondatabase/serverless driver as locally), NATS and OpenFGA are external
// services whose addresses are secrets. Nothing here runs in CI; its structure is
// checked by test/unit/sst-config.test.ts.
export default $config({
  app(input) {
    return {
      name: 'governed-swarm',
      home: 'aws',
      removal: input?.stage === 'production' ? 'retain' : 'remove',
      protect: input?.stage === 'production',
    };
  },
  async run() {
    const { stepFunctions, llmCloudEnv, lagScalingPolicy, API_FUNCTION, SECRETS, CLOUD_ENV, LAG_REPORT_MS } = await import('./infra/sst/functions.ts');
    // Lambda timeouts follow the LLM budgets being deployed (LLM_TIMEOUT_MS and its per-role variants).
    const STEP_FUNCTIONS = stepFunctions();

    const secret = Object.fromEntries(Object.keys(SECRETS).map((name) => [name, new sst.Secret(name)])) as Record<keyof typeof SECRETS, sst.Secret>;
    const fromSecrets = Object.fromEntries(Object.entries(SECRETS).map(([name, variable]) => [variable, secret[name as keyof typeof SECRETS].value]));
    const bucket = new sst.aws.Bucket('Artifacts');
    const environment = { ...CLOUD_ENV, ...llmCloudEnv(), ...fromSecrets, S3_BUCKET: bucket.name };

    const steps = STEP_FUNCTIONS.map(
      (f) =>
        [
          f.name,
          new sst.aws.Function(`Step-${f.name}`, {
            handler: f.handler,
            timeout: `${f.timeoutSeconds} seconds`,
            memory: `${f.memoryMb} MB`,
            // Reachable only with the bridge's token (STEP_INVOKE_TOKEN), checked by every step.
            url: true,
            link: [bucket],
            environment,
            copyFiles: [{ from: 'shared/policy' }],
          }),
        ] as const,
    );
    const api = new sst.aws.Function('Api', {
      handler: API_FUNCTION.handler,
      timeout: `${API_FUNCTION.timeoutSeconds} seconds`,
      memory: `${API_FUNCTION.memoryMb} MB`,
      url: true,
      link: [bucket],
      environment,
      // The console's assets, read at cold start (functions/api/ui/routes.ts).
      copyFiles: [
        { from: 'shared/policy' },
        { from: 'functions/api/ui/assets', to: 'functions/api/ui/assets' },
        { from: 'node_modules/uplot/dist', to: 'functions/api/ui/vendor' },
      ],
    });

    const vpc = new sst.aws.Vpc('Vpc');
    const cluster = new sst.aws.Cluster('Cluster', { vpc });
    const bridge = new sst.aws.Service('Bridge', {
      cluster,
      image: { context: '.', dockerfile: 'infra/docker/swarm.Dockerfile' },
      command: ['npm', 'run', 'bridge'],
      link: [bucket],
      environment: {
        ...environment,
        // The lag, as a CloudWatch metric through the log driver (infra/bridge/emf.ts).
        METRICS_EMF_MS: String(LAG_REPORT_MS),
        METRICS_EMF_STAGE: $app.stage,
        BRIDGE_FUNCTIONS: STEP_FUNCTIONS.map((f) => `functions/${f.name}/index.ts`).join(','),
        BRIDGE_FUNCTION_URLS: $resolve(steps.map(([, fn]) => fn.url)).apply((urls) => steps.map(([name], i) => `${name}=${urls[i]}`).join(',')),
      },
      scaling: { min: 1, max: 4 },
    });

    // Beside SST's CPU and memory policies: scale on the consumers' lag per bridge.
    new aws.appautoscaling.Policy(
      'BridgeLagScaling',
      lagScalingPolicy($app.stage, $interpolate`service/${cluster.nodes.cluster.name}/${bridge.nodes.service.name}`),
      { dependsOn: [bridge] },
    );

    return { api: api.url, bucket: bucket.name };
  },
});
