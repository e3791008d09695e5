// One container: the agent steps' S3 stores use the client of their Deps (Deps.s3, the
// one "s3" breaker), not a client of their own; each member is built once, on first use,
// unless the caller provides it.
import { GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { describe, expect, it } from 'vitest';
import type { S3Sender } from '../../../shared/adapters/s3.ts';
import { loadEnv } from '../../../shared/config.ts';
import { createDeps } from '../../../shared/runtime/deps.ts';
import { MemoryIdempotencyStore } from '../../../shared/runtime/inbox/memory.ts';

const env = loadEnv({ GSWARM_HOME: '/nonexistent', S3_BUCKET: 'unit-bucket' });

describe('the dependency container', () => {
  it('builds the artifact and facts-object stores on Deps.s3', async () => {
    const sent: unknown[] = [];
    const s3: S3Sender = {
      send: (async (cmd: unknown) => {
        sent.push(cmd);
        if (cmd instanceof GetObjectCommand) throw Object.assign(new Error('missing'), { name: 'NoSuchKey', $metadata: { httpStatusCode: 404 } });
        return {};
      }) as S3Sender['send'],
    };
    const deps = createDeps({ env, s3, inbox: new MemoryIdempotencyStore() as never });
    expect(await deps.artifacts.latest('acme', 'drift')).toBeNull();
    await deps.factsObjects.put('acme', 'doc-1', { title: 't', kind: 'context_doc', tier: 'fallback', facts: { claims: [], goals: [], risks: [] } } as never);
    expect(sent.map((c) => (c as object).constructor.name)).toEqual(['GetObjectCommand', 'PutObjectCommand']);
    expect(sent[1]).toBeInstanceOf(PutObjectCommand);
    expect((sent[0] as GetObjectCommand).input.Bucket).toBe('unit-bucket');
  });

  it('builds each member once, and uses what the caller provides instead', () => {
    const deps = createDeps({ env, now: () => 42, model: undefined });
    expect(deps.policies).toBe(deps.policies);
    expect(deps.artifacts).toBe(deps.artifacts);
    expect(deps.now()).toBe(42);
    expect(deps.model).toBeUndefined(); // LLM_PROVIDER=none by default
    expect(createDeps({ env }).policies).not.toBe(deps.policies);
  });
});
