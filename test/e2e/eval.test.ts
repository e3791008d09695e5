// Document understanding, measured: every scenario of infra/demo/scenarios (the four
// shared ones and the four written for this project as held-out tests) through the
// whole swarm on the real services, scored against its expected.json. The bar the
// README promises: recall and precision ≥ 0.9, resolutions right ≥ 0.9, no agreement
// reported as a contradiction, goal states right.
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createS3, ensureBucket } from '../../shared/adapters/s3.ts';
import type { Env } from '../../shared/config.ts';
import { details, runEval, scenarioDirs, table, type EvalResult } from '../../infra/eval/run.ts';
import { freshDatabase, type TestDatabase } from '../support/db.ts';
import { uniq } from '../support/ids.ts';

const ROOT = fileURLToPath(new URL('../../infra/demo/scenarios/', import.meta.url));
let db: TestDatabase;
let result: EvalResult;

beforeAll(async () => {
  db = await freshDatabase();
  const id = uniq('');
  const env: Env = { ...db.env, LOG_LEVEL: 'silent', NATS_STREAM: `EVAL_${id}`, NATS_DLQ_STREAM: `EVAL_${id}_DLQ`, NATS_SUBJECT_PREFIX: `eval${id}`, S3_BUCKET: `eval-${id}` };
  await ensureBucket(createS3(env), env.S3_BUCKET);
  result = await runEval({ env, root: ROOT, runId: id });
}, 240_000);

afterAll(async () => db?.drop());

describe('npm run eval over the bundled scenarios', () => {
  it('runs every scenario folder that has an expected.json', () => {
    expect(result.scenarios.map((s) => s.scenario)).toEqual(scenarioDirs(ROOT).map((d) => d.split('/').at(-1)));
    expect(result.scenarios.length).toBeGreaterThanOrEqual(8);
  });

  it('finds the contradictions and nothing else, settles the right ones, keeps agreements, tracks goals', () => {
    const why = `\n${table(result)}\n${details(result).join('\n')}`;
    expect(result.overall.recall, why).toBeGreaterThanOrEqual(0.9);
    expect(result.overall.precision, why).toBeGreaterThanOrEqual(0.9);
    expect(result.overall.resolutions_right, why).toBeGreaterThanOrEqual(0.9);
    expect(result.overall.agreements_violated, why).toBe(0);
    expect(result.overall.goals_right, why).toBe(1);
    for (const s of result.scenarios) expect(s.recall, `${s.scenario}${why}`).toBeGreaterThanOrEqual(0.66);
  });
});
