// The evaluation, as a library (infra/eval/main.ts is the command; test/e2e/eval.test.ts
// calls it too): every scenario folder with an expected.json goes through the whole
// swarm (runDemo, real services, offline defaults), and its report is scored.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Env } from '../../shared/config.ts';
import { runDemo, type DemoReport } from '../demo/run.ts';
import { Expected, overall, scoreScenario, type Overall, type ScenarioScore } from './score.ts';

export interface EvalResult {
  scenarios: (ScenarioScore & { elapsed_ms: number; outcome: string })[];
  overall: Overall;
  elapsed_ms: number;
}

/** Scenario folders (sorted): those that hold an expected.json. */
export function scenarioDirs(root: string): string[] {
  return readdirSync(root, { withFileTypes: true })
    .filter((d) => d.isDirectory() && existsSync(join(root, d.name, 'expected.json')))
    .map((d) => join(root, d.name))
    .sort();
}

export async function runEval(o: { env: Env; root: string; only?: string[]; print?: (l: string) => void; runId?: string; concurrency?: number }): Promise<EvalResult> {
  const t0 = Date.now();
  const runId = o.runId ?? new Date().toISOString().replace(/[-:T]/g, '').slice(0, 14);
  const dirs = scenarioDirs(o.root).filter((d) => !o.only?.length || o.only.includes(d.split('/').at(-1)!));
  const out: (EvalResult['scenarios'][number] | undefined)[] = dirs.map(() => undefined);
  // Scenarios are independent scopes: a few at once share the swarm's consumers like bridges do.
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < dirs.length; i = next++) {
      const dir = dirs[i]!;
      const name = dir.split('/').at(-1)!;
      const expected = Expected.parse(JSON.parse(readFileSync(join(dir, 'expected.json'), 'utf8')));
      const scope = `eval-${name.toLowerCase().replace(/[^a-z0-9-]/g, '-').slice(0, 30)}-${runId}`.slice(0, 64);
      const report: DemoReport = await runDemo({ env: o.env, docsDir: dir, scope, approve: false, approveGovernance: true, print: () => {} });
      const score = scoreScenario(name, expected, report);
      out[i] = { ...score, elapsed_ms: report.elapsed_ms, outcome: report.outcome };
      o.print?.(`${name}: recall ${score.recall.toFixed(2)}, precision ${score.precision.toFixed(2)}, resolutions ${score.resolutions.right}/${score.resolutions.of}, agreements violated ${score.agreements.violated}, goals ${score.goals.right}/${score.goals.of} (${(report.elapsed_ms / 1000).toFixed(1)} s)`);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, o.concurrency ?? 3) }, worker));
  const scenarios = out.filter((x): x is EvalResult['scenarios'][number] => !!x);
  return { scenarios, overall: overall(scenarios), elapsed_ms: Date.now() - t0 };
}

/** The table printed by `npm run eval` and pasted into the README. */
export function table(r: EvalResult): string {
  const pct = (x: number) => x.toFixed(2);
  const rows = r.scenarios.map(
    (s) =>
      `| ${s.scenario} | ${s.contradictions.expected} | ${s.contradictions.found} | ${pct(s.recall)} | ${pct(s.precision)} | ${s.resolutions.right}/${s.resolutions.of} | ${s.agreements.violated}/${s.agreements.of} | ${s.goals.right}/${s.goals.of} | ${s.outcome} |`,
  );
  const o = r.overall;
  return [
    '| scenario | contradictions expected | found | recall | precision | resolutions right | agreements reported as contradictions | goal states right | outcome (no human) |',
    '|---|---|---|---|---|---|---|---|---|',
    ...rows,
    `| **overall** | ${r.scenarios.reduce((a, s) => a + s.contradictions.expected, 0)} | ${r.scenarios.reduce((a, s) => a + s.contradictions.found, 0)} | ${pct(o.recall)} | ${pct(o.precision)} | ${pct(o.resolutions_right)} | ${o.agreements_violated} | ${pct(o.goals_right)} | |`,
  ].join('\n');
}

/** What went wrong, scenario by scenario (empty when everything matched). */
export function details(r: EvalResult): string[] {
  const lines: string[] = [];
  for (const s of r.scenarios) {
    for (const m of s.contradictions.missed) lines.push(`${s.scenario}: missed contradiction ${m}`);
    for (const f of s.contradictions.false_positives) lines.push(`${s.scenario}: false contradiction ${f}`);
    for (const w of s.resolutions.wrong) lines.push(`${s.scenario}: resolution ${w}`);
    for (const a of s.agreements.which) lines.push(`${s.scenario}: agreement reported as a contradiction: ${a}`);
    for (const g of s.goals.wrong) lines.push(`${s.scenario}: goal ${g}`);
  }
  return lines;
}
