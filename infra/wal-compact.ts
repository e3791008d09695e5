// npm run wal:compact [-- --retention-days N] [--compact-after-days N] [--scope ID] [--noisy k1,k2] [--dry-run]
// Applies the context-log retention and compaction policy (shared/store/wal-retention.ts)
// once and prints a JSON report. Safe to run on a schedule: what an open scope or an
// unissued certificate still needs is never removed. Defaults: WAL_RETENTION_DAYS,
// WAL_COMPACT_AFTER_DAYS.
import { basename } from 'node:path';
import { parseArgs } from 'node:util';
import { createPool } from '../shared/adapters/db.ts';
import { configOrExit } from '../shared/config.ts';
import { compactContextLog } from '../shared/store/wal-retention.ts';

export async function main(argv = process.argv.slice(2)): Promise<number> {
  const env = configOrExit();
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        'retention-days': { type: 'string' },
        'compact-after-days': { type: 'string' },
        scope: { type: 'string' },
        noisy: { type: 'string' },
        'dry-run': { type: 'boolean', default: false },
      },
    }));
  } catch (err) {
    process.stderr.write(`[wal:compact] ${(err as Error).message}\n`);
    return 2;
  }
  const days = (v: string | undefined, fallback: number, name: string) => {
    if (v === undefined) return fallback;
    const n = Number(v);
    if (!Number.isFinite(n) || n < 0) throw new Error(`--${name} must be a non-negative number, got ${JSON.stringify(v)}`);
    return n;
  };
  const pool = createPool({ ...env, PG_POOL_MAX: 2 });
  try {
    const report = await compactContextLog(pool, {
      retentionDays: days(values['retention-days'], env.WAL_RETENTION_DAYS, 'retention-days'),
      compactAfterDays: days(values['compact-after-days'], env.WAL_COMPACT_AFTER_DAYS, 'compact-after-days'),
      ...(values.scope ? { scope: values.scope } : {}),
      ...(values.noisy !== undefined ? { noisyKinds: values.noisy.split(',').map((s) => s.trim()).filter(Boolean) } : {}),
      dryRun: values['dry-run'] ?? false,
    });
    process.stdout.write(JSON.stringify(report, null, 2) + '\n');
    process.stderr.write(`[wal:compact] ${report.dryRun ? 'would remove' : 'removed'} ${report.removed} entries in ${report.scopes.length} scope(s)\n`);
    return 0;
  } catch (err) {
    process.stderr.write(`[wal:compact] ${(err as Error).message}\n`);
    return 1;
  } finally {
    await pool.end();
  }
}

if (process.argv[1] && basename(process.argv[1]) === 'wal-compact.ts') {
  process.exit(await main());
}
