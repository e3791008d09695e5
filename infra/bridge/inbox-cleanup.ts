// npm run inbox:cleanup: delete inbox records past their expiry (INBOX_TTL_MS) and
// claims abandoned for a day. The bridge also does this every BRIDGE_INBOX_CLEANUP_MS.
import { createPool } from '../../shared/adapters/db.ts';
import { configOrExit } from '../../shared/config.ts';
import { guardPool } from '../../shared/runtime/guarded.ts';
import { PostgresIdempotencyStore } from '../../shared/runtime/inbox/postgres.ts';

const env = configOrExit();
const db = guardPool(createPool({ ...env, PG_POOL_MAX: 1 }));
try {
  const n = await new PostgresIdempotencyStore(db).cleanup();
  process.stdout.write(`deleted ${n} expired inbox record${n === 1 ? '' : 's'}\n`);
} finally {
  await db.pool.end();
}
