// Generate the bus credentials (one nkey seed per identity, kept if present) and
// nats-server's authorization block from them. Idempotent; run by services.sh
// before NATS starts. Prints "changed" when the authorization block changed, so a
// running server can be told to reload.
//
//   tsx infra/nats/credentials.ts <credentials dir> <auth.conf>
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createUser, fromSeed } from '@nats-io/nkeys';
import { ALL_IDENTITIES, authorizationBlock } from './permissions.ts';

export function ensureCredentials(dir: string): { identity: string; nkey: string }[] {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  chmodSync(dir, 0o700);
  return ALL_IDENTITIES.map((identity) => {
    const file = join(dir, `${identity}.nk`);
    if (!existsSync(file)) writeFileSync(file, new TextDecoder().decode(createUser().getSeed()) + '\n', { mode: 0o600 });
    const seed = readFileSync(file, 'utf8').trim();
    return { identity, nkey: fromSeed(new TextEncoder().encode(seed)).getPublicKey() };
  });
}

export function writeAuthConf(dir: string, confFile: string): boolean {
  const text = authorizationBlock(ensureCredentials(dir));
  if (existsSync(confFile) && readFileSync(confFile, 'utf8') === text) return false;
  writeFileSync(confFile, text, { mode: 0o600 });
  return true;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const [dir, conf] = process.argv.slice(2);
  if (!dir || !conf) {
    console.error('usage: credentials.ts <credentials dir> <auth.conf>');
    process.exit(2);
  }
  console.log(writeAuthConf(dir, conf) ? 'changed' : 'unchanged');
}
