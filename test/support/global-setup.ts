// Runs once before the suite: the services must be up (npm test starts them) and a
// migrated template database is prepared, from which each test file clones its own
// database in ~100 ms (CREATE DATABASE ... TEMPLATE).
import { loadEnv } from '../../shared/config.ts';
import { prepareTemplate } from './db.ts';

export default async function setup(): Promise<void> {
  const env = loadEnv();
  await prepareTemplate(env);
}
