// Per-test-file databases cloned from a migrated template, through the Neon driver.
import { randomBytes, createHash } from 'node:crypto';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Pool } from '@neondatabase/serverless';
import { createPool } from '../../shared/adapters/db.ts';
import { loadEnv, type Env } from '../../shared/config.ts';
import { MIGRATIONS_DIR, migrate } from '../../infra/migrate.ts';


function withDb(url: string, db: string): string {
  const u = new URL(url);
  u.pathname = `/${db}`;
  return u.toString();
}

function migrationsDigest(): string {
  const h = createHash('sha256');
  for (const f of readdirSync(MIGRATIONS_DIR).sort()) h.update(f).update(readFileSync(join(MIGRATIONS_DIR, f)));
  return h.digest('hex').slice(0, 16);
}

/**
 * One template per set of migrations: checkouts with different migrations (branches
 * tested side by side on one Postgres) each keep their own, instead of dropping and
 * rebuilding a shared one under each other's feet.
 */
export const TEMPLATE_DB = `swarm_template_${migrationsDigest()}`;

async function admin<T>(env: Env, fn: (pool: Pool) => Promise<T>): Promise<T> {
  const pool = createPool({ ...env, PG_POOL_MAX: 1 });
  try {
    return await fn(pool);
  } finally {
    await pool.end();
  }
}

/** (Re)build the template when the migrations changed since it was made. */
export async function prepareTemplate(env: Env): Promise<void> {
  const digest = migrationsDigest();
  await admin(env, async (pool) => {
    const { rows } = await pool.query<{ d: string | null }>(
      `SELECT shobj_description(oid, 'pg_database') AS d FROM pg_database WHERE datname = $1`,
      [TEMPLATE_DB],
    );
    if (rows[0]?.d === digest) return;
    await pool.query(`DROP DATABASE IF EXISTS ${TEMPLATE_DB} WITH (FORCE)`);
    await pool.query(`CREATE DATABASE ${TEMPLATE_DB}`);
    await migrate({ ...env, DATABASE_URL: withDb(env.DATABASE_URL, TEMPLATE_DB) });
    await pool.query(`COMMENT ON DATABASE ${TEMPLATE_DB} IS '${digest}'`);
  });
}

export interface TestDatabase {
  name: string;
  url: string;
  env: Env;
  pool: Pool;
  drop(): Promise<void>;
}

/** A fresh, migrated database of its own; drop() removes it. */
export async function freshDatabase(opts: { migrated?: boolean; poolMax?: number } = {}): Promise<TestDatabase> {
  const base = loadEnv();
  const name = `t_${randomBytes(6).toString('hex')}`;
  await admin(base, (pool) =>
    pool.query(opts.migrated === false ? `CREATE DATABASE ${name}` : `CREATE DATABASE ${name} TEMPLATE ${TEMPLATE_DB}`),
  );
  const url = withDb(base.DATABASE_URL, name);
  const env: Env = { ...base, DATABASE_URL: url, PG_POOL_MAX: opts.poolMax ?? base.PG_POOL_MAX };
  const pool = createPool(env);
  return {
    name,
    url,
    env,
    pool,
    async drop() {
      await pool.end().catch(() => {});
      // FORCE cannot end an autovacuum worker busy in the database (it is not ours to signal):
      // wait for it a little, then leave the database behind rather than fail the test file.
      for (let attempt = 1; ; attempt++) {
        try {
          await admin(base, (p) => p.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`));
          return;
        } catch (err) {
          if (!/pg_signal_backend|being accessed by other users/.test((err as Error).message) || attempt >= 10) {
            if (attempt >= 10) return console.warn(`test database ${name} left behind: ${(err as Error).message}`);
            throw err;
          }
          await new Promise((r) => setTimeout(r, 500 * attempt));
        }
      }
    },
  };
}
