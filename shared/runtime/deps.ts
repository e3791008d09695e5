// The one dependency container: the clients (Postgres, S3, OpenFGA, the inbox) and the
// swarm's services (policies, artifact stores, embeddings, models, signer, clock), each
// built from configuration on first use, so a function that never touches S3 builds no
// S3 client. Entry points build it (processDeps for the process-wide one, or createDeps)
// and everyone reads from it: steps as ctx.deps, the API, the bridge's health checks and
// timer. Tests pass what they replace: createDeps({ env, db, model, now, ... }).
import type { S3Client } from '@aws-sdk/client-s3';
import type { Pool } from '@neondatabase/serverless';
import type { Tx } from '../adapters/db.ts';
import { createAuthorizer, createAuthzAdmin, type Authorizer, type AuthzAdmin } from '../adapters/authz.ts';
import { createPool } from '../adapters/db.ts';
import { createS3 } from '../adapters/s3.ts';
import { config, type Env } from '../config.ts';
import { swarmServiceBuilders, type SwarmServices } from './services.ts';
import { guardPool, guardS3, type GuardedPool, type S3Sender } from './guarded.ts';
import { groupedInbox } from './inbox/grouping.ts';
import { PostgresIdempotencyStore } from './inbox/postgres.ts';
import type { IdempotencyStore } from './inbox/store.ts';

export interface Deps extends Readonly<SwarmServices> {
  readonly env: Env;
  /** Postgres through the "postgres" breaker (its `pool` is the raw pool). */
  readonly db: GuardedPool;
  /** S3 through the "s3" breaker: the one client the artifact and facts-object stores use. */
  readonly s3: S3Sender;
  /**
   * The client under `s3`, without the breaker: for readiness probes, which report what S3
   * answers now (the breaker's state is reported beside it) and must not count against it.
   */
  readonly s3Client: S3Client;
  /** OpenFGA checks (fail closed; their own "openfga" breaker). */
  readonly authz: Authorizer;
  /** OpenFGA tuple writes (a scope's link to the swarm; the "openfga-write" breaker). */
  readonly authzAdmin: AuthzAdmin;
  readonly inbox: IdempotencyStore<Tx>;
  /** Close what was opened. */
  close(): Promise<void>;
}

/** What a caller provides instead of building it from `env` (tests; a shared pool). */
export type DepsOverrides = Partial<Omit<Deps, 'close'>>;

type Built = Exclude<keyof Deps, 'env' | 'close'>;

/** The container; each member is built on first use unless `o` provides it. */
export function createDeps(o: DepsOverrides = {}): Deps {
  const env = o.env ?? config();
  const own: { pool?: Pool; s3?: S3Client } = {};
  const builders: { [K in Built]: (d: Deps) => Deps[K] } = {
    db: () => guardPool((own.pool = createPool(env))),
    s3Client: () => (own.s3 = createS3(env)),
    s3: (d) => guardS3(d.s3Client),
    authz: () => createAuthorizer(env),
    authzAdmin: () => createAuthzAdmin(env),
    inbox: (d) => groupedInbox(new PostgresIdempotencyStore(d.db), env.INBOX_GROUP_MAX),
    ...swarmServiceBuilders(env),
  };
  const deps = {
    env,
    async close() {
      if (own.pool) await own.pool.end().catch(() => {});
      own.s3?.destroy();
    },
  } as Deps;
  const made = new Map<Built, unknown>(Object.entries(o).filter(([k, v]) => k !== 'env' && v !== undefined) as [Built, unknown][]);
  for (const key of Object.keys(builders) as Built[]) {
    Object.defineProperty(deps, key, {
      enumerable: true,
      get: () => {
        if (!made.has(key)) made.set(key, builders[key](deps));
        return made.get(key);
      },
    });
  }
  return deps;
}

let shared: Deps | undefined;
/** The process-wide container: what every step uses unless given another, and what the entry points read. */
export function processDeps(): Deps {
  return (shared ??= createDeps());
}

/** For entry points: close the process-wide dependencies at shutdown. */
export async function closeProcessDeps(): Promise<void> {
  const d = shared;
  shared = undefined;
  await d?.close();
}
