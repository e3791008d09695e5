// npm run bench [-- --json FILE] [--only suite[,suite]]
// Loads every module in suites/ (each exports `suite: BenchSuite`), runs them in
// name order and prints one table.
import { readdirSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import type { BenchRow, BenchSuite } from './harness.ts';

// The benchmarked components' warnings (a deleted consumer at teardown) are not results.
process.env.LOG_LEVEL ??= 'error';

const { values } = parseArgs({ options: { json: { type: 'string' }, only: { type: 'string' } } });
const only = values.only?.split(',').map((s) => s.trim());
const dir = new URL('./suites/', import.meta.url);
const files = readdirSync(dir).filter((f) => f.endsWith('.ts')).sort();
const rows: BenchRow[] = [];
for (const f of files) {
  const { suite } = (await import(new URL(f, dir).href)) as { suite: BenchSuite };
  if (only && !only.includes(suite.name)) continue;
  process.stderr.write(`[bench] ${suite.name}: ${suite.description}\n`);
  const got = await suite.run();
  rows.push(...got.map((r) => ({ ...r, case: `${suite.name}/${r.case}` })));
}

const fmt = (v: number) => (Math.abs(v) >= 100 ? v.toFixed(0) : Math.abs(v) >= 1 ? v.toFixed(2) : v.toPrecision(3));
const w = [Math.max(4, ...rows.map((r) => r.case.length)), Math.max(6, ...rows.map((r) => r.metric.length)), 12];
console.log(`${'case'.padEnd(w[0]!)}  ${'metric'.padEnd(w[1]!)}  ${'value'.padStart(w[2]!)}  unit`);
for (const r of rows) console.log(`${r.case.padEnd(w[0]!)}  ${r.metric.padEnd(w[1]!)}  ${fmt(r.value).padStart(w[2]!)}  ${r.unit}`);
if (values.json) writeFileSync(values.json, JSON.stringify(rows, null, 2) + '\n');
process.exit(0);
