// Runs once before the suite: a migrated template database is prepared, from which
// each test file clones its own database in ~100 ms (CREATE DATABASE ... TEMPLATE).
// `npm test` starts the services first; without Postgres only the unit tests can pass.
import { loadEnv } from '../../shared/config.ts';
import { prepareTemplate } from './db.ts';

export default async function setup(): Promise<void> {
  const env = loadEnv();
  try {
    await prepareTemplate(env);
  } catch (err) {
    process.stderr.write(
      `global setup: Postgres is not reachable (${(err as Error).message}); tests that need the services will fail. Start them with: npm run services:up\n`,
    );
  }
}
