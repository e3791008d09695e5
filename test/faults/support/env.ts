// A bridge configuration of its own for one test: unique stream, dead-letter
// stream and subject prefix on the shared NATS server, its own database, and
// short timings so that redeliveries happen within a test's time.
import type { Env } from '../../../shared/config.ts';
import { uniq } from '../../support/ids.ts';

export function bridgeEnv(base: Env, overrides: Partial<Env> = {}): Env {
  const id = uniq('');
  return {
    ...base,
    LOG_LEVEL: 'warn',
    NATS_STREAM: `T_${id}`,
    NATS_DLQ_STREAM: `T_${id}_DLQ`,
    NATS_SUBJECT_PREFIX: `t${id}`,
    NATS_STREAM_MAX_AGE_MS: 3_600_000,
    NATS_DLQ_MAX_AGE_MS: 3_600_000,
    BRIDGE_DEPLOYMENT_ID: `test-${id}`,
    BRIDGE_ACK_WAIT_MS: 5_000,
    BRIDGE_MAX_DELIVER: 5,
    BRIDGE_NAK_BASE_MS: 100,
    BRIDGE_NAK_MAX_MS: 1_000,
    BRIDGE_FETCH_EXPIRES_MS: 1_000,
    BRIDGE_SHUTDOWN_GRACE_MS: 10_000,
    BRIDGE_HEALTH_PORT: 0,
    BRIDGE_INBOX_CLEANUP_MS: 0,
    // The fixture functions have no bus credentials of their own.
    BRIDGE_NATS_IDENTITY: 'operator',
    BRIDGE_STEP_IDENTITIES: false,
    ...overrides,
  };
}

/** The same configuration as environment variables, for a child process. */
export function toProcessEnv(env: Env, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const out: NodeJS.ProcessEnv = { ...process.env };
  delete out.VITEST; // the logger is silent under vitest; children should log
  for (const [k, v] of Object.entries(env)) if (v !== undefined) out[k] = String(v);
  return { ...out, ...extra };
}

export async function waitFor<T>(
  what: string,
  fn: () => Promise<T | undefined | false> | T | undefined | false,
  { timeoutMs = 20_000, intervalMs = 50 } = {},
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v !== undefined && v !== false) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${(last as Error).message}` : ''}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
