import { mkdtempSync, writeFileSync, copyFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { MIGRATIONS_DIR, migrate, renderSql } from '../../infra/migrate.ts';
import { freshDatabase, type TestDatabase } from '../support/db.ts';

let db: TestDatabase | undefined;
afterEach(async () => {
  await db?.drop();
  db = undefined;
});

async function tables(d: TestDatabase): Promise<string[]> {
  const { rows } = await d.pool.query<{ t: string }>(
    `SELECT table_name AS t FROM information_schema.tables WHERE table_schema = 'public' ORDER BY 1`,
  );
  return rows.map((r) => r.t);
}

describe('migrations', () => {
  it('apply once; a second run is a no-op', async () => {
    db = await freshDatabase({ migrated: false });
    const first = await migrate(db.env);
    expect(first.applied).toEqual(readdirSync(MIGRATIONS_DIR).filter((f) => f.endsWith('.sql')).sort());
    const before = await tables(db);
    expect(before).toEqual(
      expect.arrayContaining([
        'scopes', 'scope_state', 'context_log', 'graph_nodes', 'graph_edges', 'convergence_history',
        'decision_records', 'review_queue', 'finality_decisions', 'certificates', 'inbox', 'dead_letters',
        'schema_migrations',
      ]),
    );
    const second = await migrate(db.env);
    expect(second.applied).toEqual([]);
    expect(await tables(db)).toEqual(before);
  });

  it('roll back a failing migration completely and record nothing', async () => {
    db = await freshDatabase({ migrated: false });
    const dir = mkdtempSync(join(tmpdir(), 'mig-'));
    writeFileSync(join(dir, '001_good.sql'), 'CREATE TABLE good (id int);');
    writeFileSync(join(dir, '002_bad.sql'), 'CREATE TABLE half (id int);\nINSERT INTO nowhere VALUES (1);');
    await expect(migrate({ ...db.env, dir })).rejects.toThrow(/002_bad\.sql failed and was rolled back/);
    expect(await tables(db)).toEqual(['good', 'schema_migrations']); // no "half"
    const { rows } = await db.pool.query<{ version: string }>('SELECT version FROM schema_migrations');
    expect(rows.map((r) => r.version)).toEqual(['001_good.sql']);
  });

  it('refuse an applied migration that was edited afterwards', async () => {
    db = await freshDatabase({ migrated: false });
    const dir = mkdtempSync(join(tmpdir(), 'mig-'));
    copyFileSync(join(MIGRATIONS_DIR, '001_scopes_state_context_log.sql'), join(dir, '001_a.sql'));
    await migrate({ ...db.env, dir });
    writeFileSync(join(dir, '001_a.sql'), 'SELECT 1;');
    await expect(migrate({ ...db.env, dir })).rejects.toThrow(/changed after it was applied/);
  });

  it('size the embedding column from configuration', async () => {
    expect(renderSql('vector({{EMBEDDING_DIM}})', { EMBEDDING_DIM: 384 })).toBe('vector(384)');
    expect(() => renderSql('{{NOPE}}', {})).toThrow(/unknown placeholder/);
    db = await freshDatabase();
    const { rows } = await db.pool.query<{ t: string }>(
      `SELECT format_type(atttypid, atttypmod) AS t FROM pg_attribute
        WHERE attrelid = 'graph_nodes'::regclass AND attname = 'embedding'`,
    );
    expect(rows[0]!.t).toBe(`vector(${db.env.EMBEDDING_DIM})`);
  });

  it('keep the context log append-only', async () => {
    db = await freshDatabase();
    await db.pool.query(`INSERT INTO scopes (scope_id) VALUES ('s1')`);
    await db.pool.query(`INSERT INTO context_log (scope_id, seq, kind, source) VALUES ('s1', 1, 'doc', 'test')`);
    await expect(db.pool.query(`UPDATE context_log SET kind = 'x'`)).rejects.toThrow(/append-only/);
    await expect(db.pool.query(`DELETE FROM context_log`)).rejects.toThrow(/append-only/);
  });
});
