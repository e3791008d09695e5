// Second half of `services:up`: state inside the services that the swarm needs.
// Idempotent: creates the S3 bucket, the OpenFGA store, model and standing grants,
// and an Ed25519 certificate signing key, then writes services.env if it changed.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { OpenFgaClient, ClientWriteRequestOnDuplicateWrites } from '@openfga/sdk';
import { calculateJwkThumbprint, exportJWK, generateKeyPair } from 'jose';
import { gswarmHome, loadEnv, readServicesEnv } from '../../shared/config.ts';
import { fgaCredentials } from '../../shared/adapters/authz.ts';
import { createS3, ensureBucket } from '../../shared/adapters/s3.ts';
import { loadModel, loadTuples, sameModel, type AuthorizationModel } from '../openfga/model.ts';

const STORE_NAME = 'governed-swarm';
const changes: string[] = [];

export async function ensureOpenFga(apiUrl: string, storeName = STORE_NAME, apiToken = process.env.OPENFGA_API_TOKEN) {
  const auth = fgaCredentials(apiToken);
  const fga = new OpenFgaClient({ apiUrl, ...auth });
  let storeId: string | undefined;
  let token: string | undefined;
  do {
    const page = await fga.listStores({ pageSize: 100, continuationToken: token });
    storeId = page.stores.find((s) => s.name === storeName)?.id ?? storeId;
    token = page.continuation_token || undefined;
  } while (!storeId && token);
  if (!storeId) {
    storeId = (await fga.createStore({ name: storeName })).id;
    changes.push(`openfga store ${storeName}`);
  }
  const store = new OpenFgaClient({ apiUrl, storeId, ...auth });
  const want = loadModel();
  let modelId: string | undefined;
  try {
    const latest = await store.readLatestAuthorizationModel();
    if (latest.authorization_model && sameModel(latest.authorization_model as AuthorizationModel, want)) {
      modelId = latest.authorization_model.id;
    }
  } catch {
    // no model yet
  }
  if (!modelId) {
    modelId = (await store.writeAuthorizationModel(want as never)).authorization_model_id;
    changes.push('openfga model');
  }
  const tuples = loadTuples();
  await new OpenFgaClient({ apiUrl, storeId, authorizationModelId: modelId, ...auth }).write(
    { writes: tuples },
    { conflict: { onDuplicateWrites: ClientWriteRequestOnDuplicateWrites.Ignore } },
  );
  return { storeId, modelId };
}

async function signingKey(existing: Record<string, string>) {
  if (existing.FINALITY_SIGNING_KEY && existing.FINALITY_KEY_ID) {
    return { key: existing.FINALITY_SIGNING_KEY, kid: existing.FINALITY_KEY_ID };
  }
  const { privateKey } = await generateKeyPair('EdDSA', { crv: 'Ed25519', extractable: true });
  const jwk = await exportJWK(privateKey);
  const kid = await calculateJwkThumbprint(jwk);
  changes.push('certificate signing key');
  return { key: JSON.stringify({ ...jwk, kid, alg: 'EdDSA', use: 'sig' }), kid };
}

async function main() {
  const home = gswarmHome();
  const existing = readServicesEnv();
  const env = loadEnv({ ...process.env, OPENFGA_STORE_ID: '', OPENFGA_MODEL_ID: '' });

  if (await ensureBucket(createS3(env), env.S3_BUCKET)) changes.push(`bucket ${env.S3_BUCKET}`);
  const { storeId, modelId } = await ensureOpenFga(env.OPENFGA_API_URL, undefined, env.OPENFGA_API_TOKEN || process.env.OPENFGA_API_TOKEN);
  const { key, kid } = await signingKey(existing);

  const lines = [
    '# Written by infra/services/bootstrap.ts (npm run services:up). Process env wins over these.',
    `OPENFGA_STORE_ID=${storeId}`,
    `OPENFGA_MODEL_ID=${modelId}`,
    `FINALITY_KEY_ID=${kid}`,
    `FINALITY_SIGNING_KEY='${key}'`,
    `NATS_SERVER_BIN=${process.env.NATS_SERVER_BIN ?? ''}`,
    // The local bus requires credentials: each process connects as its identity from here.
    `NATS_CREDS_DIR=${process.env.NATS_CREDS_DIR ?? ''}`,
    `OPENFGA_API_TOKEN=${process.env.OPENFGA_API_TOKEN ?? ''}`,
    `PG_BIN=${process.env.PG_BIN ?? ''}`,
    '',
  ].join('\n');
  const file = join(home, 'services.env');
  const before = existsSync(file) ? readFileSync(file, 'utf8') : '';
  if (before !== lines) {
    writeFileSync(file, lines, { mode: 0o600 });
    changes.push('services.env');
  }
  process.stderr.write(
    `[services] bootstrap: ${changes.length ? 'changed ' + changes.join(', ') : 'nothing to change'}\n`,
  );
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main().catch((err) => {
    process.stderr.write(`[services] bootstrap failed: ${(err as Error).message}\n`);
    process.exit(1);
  });
}
