// npm run eval [-- --scenarios DIR] [--only a,b] [--json FILE]
// Runs every scenario folder that has an expected.json through the swarm (offline
// defaults, real services) and prints recall, precision, resolutions right, agreements
// wrongly reported as contradictions and goal states right, per scenario and overall.
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

process.env.LOG_LEVEL ??= 'warn';
const { configOrExit } = await import('../../shared/config.ts');
const { migrate } = await import('../migrate.ts');
const { details, runEval, table } = await import('./run.ts');

const { values } = parseArgs({
  options: {
    scenarios: { type: 'string', default: fileURLToPath(new URL('../demo/scenarios/', import.meta.url)) },
    only: { type: 'string' },
    json: { type: 'string' },
  },
});
const env = configOrExit();
try {
  await migrate(env);
  const r = await runEval({ env, root: values.scenarios!, ...(values.only ? { only: values.only.split(',') } : {}), print: (l) => console.log(l) });
  console.log('');
  console.log(table(r));
  const why = details(r);
  if (why.length) console.log('\n' + why.join('\n'));
  console.log(`\n${r.scenarios.length} scenario(s) in ${(r.elapsed_ms / 1000).toFixed(1)} s.`);
  if (values.json) writeFileSync(values.json, JSON.stringify(r, null, 2) + '\n');
  process.exit(0);
} catch (err) {
  console.error(`eval failed: ${(err as Error).message}`);
  process.exit(1);
}
