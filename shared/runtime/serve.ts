// Serve a step's Hono app over HTTP with @hono/node-server: what the bridge calls
// when BRIDGE_FUNCTION_URLS names the function, locally or in a container.
//   tsx shared/runtime/serve.ts <module> [port]      (default FUNCTION_PORT, on FUNCTION_HOST)
import { basename } from 'node:path';
import { serve } from '@hono/node-server';
import { assertInvokeToken, type Step } from './step.ts';

export interface Served {
  url: string;
  close(): Promise<void>;
}

export function serveStep(step: Step, port = 0, hostname = '127.0.0.1'): Promise<Served> {
  return new Promise((resolveServed, reject) => {
    const server = serve({ fetch: step.app.fetch, port, hostname }, (info) =>
      resolveServed({
        url: `http://${hostname}:${info.port}`,
        close: () => new Promise<void>((r) => server.close(() => r())),
      }),
    );
    server.once('error', reject);
  });
}

if (process.argv[1] && basename(process.argv[1]) === 'serve.ts') {
  const { configOrExit } = await import('../config.ts');
  const { loadStep } = await import('./load.ts');
  const { initTelemetry } = await import('../adapters/telemetry.ts');
  const { closeProcessDeps } = await import('./deps.ts');
  const { logger } = await import('../log.ts');
  const env = configOrExit();
  try {
    assertInvokeToken(env);
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n`);
    process.exit(2);
  }
  const [modulePath, portArg] = process.argv.slice(2);
  if (!modulePath) {
    process.stderr.write('usage: tsx shared/runtime/serve.ts <function module> [port]\n');
    process.exit(2);
  }
  const telemetry = initTelemetry(env);
  const step = await loadStep(modulePath);
  const served = await serveStep(step, portArg ? Number(portArg) : env.FUNCTION_PORT, env.FUNCTION_HOST);
  const log = logger('serve', { step: step.name });
  log.info({ url: served.url }, 'serving');
  process.stdout.write(`${served.url}\n`);
  const stop = async () => {
    await served.close();
    await closeProcessDeps();
    await telemetry.shutdown();
  };
  process.once('SIGTERM', () => void stop());
  process.once('SIGINT', () => void stop());
}
