// What a step may use: Postgres, S3, OpenFGA and the inbox, each created once per
// process on first use from configuration, behind its breaker. Tests build their
// own with createDeps({ env, db, inbox, ... }).
import type { Tx } from '../adapters/db.ts';
import { createAuthorizer, type Authorizer } from '../adapters/authz.ts';
import { createPool } from '../adapters/db.ts';
import { createS3 } from '../adapters/s3.ts';
import { config, type Env } from '../config.ts';
import { guardPool, guardS3, type GuardedPool, type S3Sender } from './guarded.ts';
import { groupedInbox } from './inbox/grouping.ts';
import { PostgresIdempotencyStore } from './inbox/postgres.ts';
import type { IdempotencyStore } from './inbox/store.ts';

export interface Deps {
  readonly env: Env;
  /** Postgres through the "postgres" breaker. */
  readonly db: GuardedPool;
  /** S3 through the "s3" breaker: the one client the artifact and facts-object stores use. */
  readonly s3: S3Sender;
  /** OpenFGA checks (fail closed; their own "openfga" breaker). */
  readonly authz: Authorizer;
  readonly inbox: IdempotencyStore<Tx>;
  /** Close what was opened. */
  close(): Promise<void>;
}

export interface DepsOverrides {
  env?: Env;
  db?: GuardedPool;
  s3?: S3Sender;
  authz?: Authorizer;
  inbox?: IdempotencyStore<Tx>;
}

/**
 * The "s3" breaker's settings: those the artifact and facts-object stores gave it while
 * each wrapped its own client (an open breaker waits 10 s before its probe).
 */
const S3_RESILIENCE = { halfOpenAfterMs: 10_000, initialDelayMs: 100, maxDelayMs: 2_000 } as const;

/** Dependencies created lazily: a function that never touches S3 never builds a client. */
export function createDeps(o: DepsOverrides = {}): Deps {
  const env = o.env ?? config();
  let db = o.db;
  let s3 = o.s3;
  let authz = o.authz;
  let inbox = o.inbox;
  let ownPool = false;
  return {
    env,
    get db() {
      if (!db) {
        db = guardPool(createPool(env));
        ownPool = true;
      }
      return db;
    },
    get s3() {
      return (s3 ??= guardS3(createS3(env), S3_RESILIENCE));
    },
    get authz() {
      return (authz ??= createAuthorizer(env));
    },
    get inbox() {
      return (inbox ??= groupedInbox(new PostgresIdempotencyStore(this.db), env.INBOX_GROUP_MAX));
    },
    async close() {
      if (ownPool && db) await db.pool.end().catch(() => {});
    },
  };
}

let shared: Deps | undefined;
/** The process-wide dependencies every step uses unless given others. */
export function processDeps(): Deps {
  return (shared ??= createDeps());
}

/** For entry points: close the process-wide dependencies at shutdown. */
export async function closeProcessDeps(): Promise<void> {
  const d = shared;
  shared = undefined;
  await d?.close();
}
