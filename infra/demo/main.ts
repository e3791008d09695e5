// npm run demo [-- --docs DIR] [--scope NAME] [--approve] [--json FILE] [--serve [--port N]]
// The swarm on a sample scenario with the offline defaults (no network, no key):
// migrates, runs the bridge with every function and the API in this process, feeds
// the documents in order through the API and reports. See infra/demo/run.ts.
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

// Progress goes to stdout; the components' JSON logs only when asked for.
process.env.LOG_LEVEL ??= 'warn';
const { configOrExit } = await import('../../shared/config.ts');
const { migrate } = await import('../migrate.ts');
const { runDemo } = await import('./run.ts');

const { values } = parseArgs({
  options: {
    docs: { type: 'string', default: fileURLToPath(new URL('./scenarios/acme/', import.meta.url)) },
    scope: { type: 'string' },
    approve: { type: 'boolean', default: false },
    json: { type: 'string' },
    // Keep the API and console up afterwards, on API_HOST:API_PORT (or --port).
    serve: { type: 'boolean', default: false },
    port: { type: 'string' },
  },
});
const env = configOrExit();
// A scope per run, named after the folder: acme-20261130184758.
const folder = values.docs!.replace(/\/+$/, '').split('/').at(-1)!.toLowerCase().replace(/[^a-z0-9-]/g, '-').slice(0, 40) || 'scope';
const scope = values.scope ?? `${folder}-${new Date().toISOString().replace(/[-:T]/g, '').slice(0, 14)}`;
try {
  await migrate(env);
  // Only with --serve does a signal mean "stop serving" rather than the default exit.
  const until = values.serve
    ? new Promise((r) => {
        process.once('SIGINT', r);
        process.once('SIGTERM', r);
      })
    : Promise.resolve();
  const port = values.port !== undefined ? Number(values.port) : env.API_PORT;
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`--port ${values.port}: expected a port number`);
  const report = await runDemo({
    env,
    docsDir: values.docs!,
    scope,
    approve: values.approve!,
    print: (l) => console.log(l),
    ...(values.serve ? { serve: { host: env.API_HOST, port, until } } : {}),
  });
  console.log(`Done in ${(report.elapsed_ms / 1000).toFixed(1)} s.`);
  if (values.json) {
    writeFileSync(values.json, JSON.stringify(report, null, 2) + '\n');
    console.log(`Report written to ${values.json}`);
  }
  process.exit(0);
} catch (err) {
  console.error(`demo failed: ${(err as Error).message}`);
  process.exit(1);
}
