// `npm run services:up` on a machine where everything is already installed and
// running: it must start nothing, install nothing and change nothing (except to make
// the data directories of NATS and MinIO owner-only, which needs no restart).
import { execFile } from 'node:child_process';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { gswarmHome } from '../../shared/config.ts';

const run = promisify(execFile);

describe('services:up', () => {
  it('is idempotent: a second run changes nothing', async () => {
    await run('bash', ['infra/services/services.sh', 'up']);
    const envFile = join(gswarmHome(), 'services.env');
    const before = { text: readFileSync(envFile, 'utf8'), mtime: statSync(envFile).mtimeMs };

    const { stderr } = await run('bash', ['infra/services/services.sh', 'up']);
    expect(stderr).not.toMatch(/starting|installing|building|initialising|fetching/);
    expect(stderr).toMatch(/bootstrap: nothing to change/);
    expect(readFileSync(envFile, 'utf8')).toBe(before.text);
    expect(statSync(envFile).mtimeMs).toBe(before.mtime);

    // Every message and artifact is in these: readable by their owner only (fixed on `up`, no restart needed).
    for (const dir of ['nats', 'minio']) expect([dir, (statSync(join(gswarmHome(), 'data', dir)).mode & 0o777).toString(8)]).toEqual([dir, '700']);

    const status = await run('bash', ['infra/services/services.sh', 'status', 'postgres', 'wsproxy', 'nats', 'minio', 'openfga']);
    expect(status.stdout.trim().split('\n').map((l) => l.split(/\s+/))).toEqual([
      ['postgres', 'up'], ['wsproxy', 'up'], ['nats', 'up'], ['minio', 'up'], ['openfga', 'up'],
    ]);
  }, 60_000);
});
