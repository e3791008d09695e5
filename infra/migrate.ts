// Ordered SQL migrations (migrations/NNN_name.sql) applied with Umzug through the
// Neon driver. Each file runs in its own transaction together with the row that
// records it, so a failing migration leaves the database as it was. Applied files
// are checksummed: editing one after it ran is an error, not a silent drift.
// Forward-only: fix a mistake with a new migration.
import { createHash } from 'node:crypto';
import { readFileSync, readdirSync } from 'node:fs';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Umzug, type UmzugStorage } from 'umzug';
import { createPool, type DbConfig, type PoolClient } from '../shared/adapters/db.ts';

export const MIGRATIONS_DIR = fileURLToPath(new URL('../migrations/', import.meta.url));
const LOCK_KEY = 'governed-swarm:migrations';

export interface MigrateOptions extends DbConfig {
  EMBEDDING_DIM: number;
  dir?: string;
  log?: (msg: string) => void;
}

/** Placeholders like {{EMBEDDING_DIM}} keep the schema in step with configuration. */
export function renderSql(sql: string, vars: Record<string, string | number>): string {
  return sql.replace(/\{\{([A-Z0-9_]+)\}\}/g, (_, k: string) => {
    if (!(k in vars)) throw new Error(`migration uses unknown placeholder {{${k}}}`);
    return String(vars[k]);
  });
}

function checksum(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

export async function migrate(opts: MigrateOptions): Promise<{ applied: string[]; pending: number }> {
  const log = opts.log ?? (() => {});
  const dir = opts.dir ?? MIGRATIONS_DIR;
  const files = readdirSync(dir)
    .filter((f) => /^\d{3,}_[a-z0-9_]+\.sql$/.test(f))
    .sort();
  const vars = { EMBEDDING_DIM: opts.EMBEDDING_DIM };
  const pool = createPool({ ...opts, PG_POOL_MAX: 1 });
  const client = await pool.connect();
  try {
    // One runner at a time: two deploys starting together must not both apply.
    await client.query('SELECT pg_advisory_lock(hashtext($1))', [LOCK_KEY]);
    await client.query(`CREATE TABLE IF NOT EXISTS schema_migrations (
      version    text PRIMARY KEY,
      checksum   text NOT NULL,
      applied_at timestamptz NOT NULL DEFAULT now())`);

    const applied = new Map<string, string>(
      (await client.query<{ version: string; checksum: string }>('SELECT version, checksum FROM schema_migrations')).rows.map(
        (r) => [r.version, r.checksum],
      ),
    );
    for (const f of files) {
      const have = applied.get(f);
      const sql = renderSql(readFileSync(join(dir, f), 'utf8'), vars);
      if (have && have !== checksum(sql)) {
        throw new Error(`migration ${f} was changed after it was applied (checksum differs); add a new migration instead`);
      }
    }

    const storage: UmzugStorage = {
      async executed() {
        return [...applied.keys()];
      },
      // Recorded inside the migration's own transaction (see up()).
      async logMigration() {},
      async unlogMigration() {
        throw new Error('migrations are forward-only');
      },
    };
    const umzug = new Umzug({
      migrations: files.map((f) => ({
        name: f,
        up: async () => runOne(client, f, renderSql(readFileSync(join(dir, f), 'utf8'), vars)),
      })),
      storage,
      logger: undefined,
    });
    const done = await umzug.up();
    for (const m of done) log(`applied ${m.name}`);
    return { applied: done.map((m) => m.name), pending: 0 };
  } finally {
    await client.query('SELECT pg_advisory_unlock(hashtext($1))', [LOCK_KEY]).catch(() => {});
    client.release();
    await pool.end();
  }
}

async function runOne(client: PoolClient, name: string, sql: string): Promise<void> {
  await client.query('BEGIN');
  try {
    await client.query(sql);
    await client.query('INSERT INTO schema_migrations (version, checksum) VALUES ($1, $2)', [name, checksum(sql)]);
    await client.query('COMMIT');
  } catch (err) {
    await client.query('ROLLBACK');
    throw new Error(`migration ${name} failed and was rolled back: ${(err as Error).message}`);
  }
}

if (process.argv[1] && basename(process.argv[1]) === 'migrate.ts') {
  const { configOrExit } = await import('../shared/config.ts');
  const env = configOrExit();
  try {
    const { applied } = await migrate({ ...env, log: (m) => process.stderr.write(`[migrate] ${m}\n`) });
    process.stderr.write(`[migrate] ${applied.length ? `${applied.length} applied` : 'up to date, nothing applied'}\n`);
  } catch (err) {
    process.stderr.write(`[migrate] ${(err as Error).message}\n`);
    process.exit(1);
  }
}
