// Certificate signing keys: list them, or revoke one (it leaves the published JWKS,
// so nothing it signed verifies any more, and the swarm refuses to sign with it).
//   npm run keys -- list | revoke <kid> <reason>
import { parseArgs } from 'node:util';
import { createPool } from '../shared/adapters/db.ts';
import { configOrExit } from '../shared/config.ts';
import { revokeSigningKey } from '../shared/store/certificates.ts';

const env = configOrExit();
const { positionals } = parseArgs({ allowPositionals: true });
const [cmd, kid, ...reason] = positionals;
const pool = createPool({ ...env, PG_POOL_MAX: 1 });
try {
  if (cmd === 'list') {
    const { rows } = await pool.query<{ key_id: string; created_at: Date; revoked_at: Date | null; revoked_reason: string | null }>(
      'SELECT key_id, created_at, revoked_at, revoked_reason FROM signing_keys ORDER BY created_at',
    );
    for (const r of rows) console.log([r.key_id, r.created_at.toISOString(), r.revoked_at ? `revoked ${r.revoked_at.toISOString()}: ${r.revoked_reason ?? ''}` : 'published'].join('\t'));
  } else if (cmd === 'revoke' && kid && reason.length) {
    const done = await revokeSigningKey(pool, kid, reason.join(' '));
    console.log(done ? `revoked ${kid}; it is no longer in /.well-known/jwks.json` : `no published key ${kid} (unknown or already revoked)`);
    if (!done) process.exitCode = 1;
  } else {
    console.error('usage: npm run keys -- list | revoke <kid> <reason>');
    process.exitCode = 2;
  }
} finally {
  await pool.end();
}
