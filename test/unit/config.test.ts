import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadEnv } from '../../shared/config.ts';

const run = promisify(execFile);

describe('configuration', () => {
  it('has working defaults', () => {
    const env = loadEnv({ GSWARM_HOME: '/nonexistent' });
    expect(env.NATS_URL).toBe('nats://127.0.0.1:4222');
    expect(env.PG_POOL_MAX).toBe(10);
    expect(env.AUTHZ_DISABLED).toBe(false);
    expect(env.NATS_STREAM_REPLICAS).toBe(1);
    expect(loadEnv({ GSWARM_HOME: '/nonexistent', NATS_STREAM_REPLICAS: '3' }).NATS_STREAM_REPLICAS).toBe(3);
  });

  it.each([
    ['NATS_URL', 'nonsense'],
    ['DATABASE_URL', 'mysql://x'],
    ['PG_POOL_MAX', '0'],
    ['PG_POOL_MAX', 'ten'],
    ['S3_BUCKET', 'Not_A_Bucket'],
    ['LLM_PROVIDER', 'magic'],
    ['AUTHZ_DISABLED', 'maybe'],
    ['NATS_STREAM_REPLICAS', '0'],
    ['NATS_STREAM_REPLICAS', '6'],
  ])('names the variable when %s=%s', (name, value) => {
    let err: unknown;
    try {
      loadEnv({ GSWARM_HOME: '/nonexistent', [name]: value });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).message).toContain(`${name}:`);
    expect((err as ConfigError).message).toContain(JSON.stringify(value));
  });

  it('refuses the authz bypass in production', () => {
    expect(() => loadEnv({ GSWARM_HOME: '/x', SWARM_ENV: 'production', AUTHZ_DISABLED: 'true' })).toThrow(
      /AUTHZ_DISABLED: may not be set in production/,
    );
  });

  it('fails a command at start with one clear line, not a stack trace', async () => {
    const err = await run('npx', ['tsx', 'infra/migrate.ts'], { env: { ...process.env, NATS_URL: 'nonsense' } }).catch(
      (e: { code: number; stderr: string }) => e,
    );
    expect((err as { code: number }).code).toBe(2);
    const lines = (err as { stderr: string }).stderr.trim().split('\n');
    expect(lines).toEqual([
      'invalid configuration: NATS_URL: expected nats://host:port (comma-separated for a cluster) (got "nonsense")',
    ]);
  });
});
