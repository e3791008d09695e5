// Artifact store against the real MinIO: content addressing and compare-and-swap pointers.
import { GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { beforeAll, describe, expect, it } from 'vitest';
import { createS3, ensureBucket } from '../../../shared/adapters/s3.ts';
import { loadEnv } from '../../../shared/config.ts';
import { guardS3 } from '../../../shared/runtime/guarded.ts';
import { artifactKeys, canonicalJson, createArtifactStore, loadLatestDrift, sha256Hex } from '../../../shared/store/artifacts.ts';
import { uniq } from '../../support/ids.ts';

const env = loadEnv();
const s3 = createS3(env);
const bucket = uniq('core-art-');
const store = createArtifactStore(guardS3(s3, undefined, `s3-${bucket}`), bucket);

beforeAll(async () => {
  await ensureBucket(s3, bucket);
});

const facts = (n: number) => ({ version: 2, claims: [`claim ${n}`], goals: [], risks: [], contradictions: [], confidence: 0.7 });

describe('artifact store', () => {
  it('writes content-addressed documents under the documented keys and reads them back verified', async () => {
    const r = await store.publish('acme', 'facts', facts(1), { writer: 'facts', expected: null });
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    const sha = sha256Hex(canonicalJson(facts(1)));
    expect(r.pointer).toMatchObject({ version: 1, sha256: sha, key: `scopes/acme/facts/${sha}.json`, previous_sha256: null, writer: 'facts' });
    const keys = artifactKeys('acme', 'facts');
    expect(keys.latest).toBe('scopes/acme/facts/latest.json');
    expect(keys.history(1)).toBe('scopes/acme/facts/history/000000000001.json');
    const raw = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: r.pointer.key }));
    expect(sha256Hex(await raw.Body!.transformToString())).toBe(sha);
    expect((await store.latest('acme', 'facts'))!.document).toEqual(facts(1));
    // Key order does not change the hash.
    expect(sha256Hex(canonicalJson({ b: 1, a: { d: 2, c: 3 } }))).toBe(sha256Hex(canonicalJson({ a: { c: 3, d: 2 }, b: 1 })));
  });

  it('publishing the same content again changes nothing', async () => {
    const a = await store.publish('same', 'facts', facts(7), { writer: 'facts', expected: null });
    const b = await store.publish('same', 'facts', facts(7), { writer: 'facts' });
    expect(a.ok && b.ok && !b.changed && b.pointer.version === 1).toBe(true);
  });

  it('two writers on the same base: one wins, the other gets a conflict, nothing is overwritten silently', async () => {
    await store.publish('race', 'drift', { level: 'low', types: [] }, { writer: 'drift', expected: null });
    const base = (await store.latest('race', 'drift'))!.pointer.sha256;
    const results = await Promise.all(
      Array.from({ length: 6 }, (_, i) => store.publish('race', 'drift', { level: 'high', types: ['factual'], notes: [`writer ${i}`] }, { writer: `w${i}`, expected: base })),
    );
    const winners = results.filter((r) => r.ok);
    expect(winners).toHaveLength(1);
    expect(results.filter((r) => !r.ok)).toHaveLength(5);
    const latest = (await store.latest<{ notes: string[] }>('race', 'drift'))!;
    expect(latest.pointer.version).toBe(2);
    expect(latest.pointer.previous_sha256).toBe(base);
    const winner = winners[0]!;
    expect(winner.ok && latest.pointer.sha256 === winner.pointer.sha256).toBe(true);
    // A loser that retries on the winner's version succeeds.
    const retry = await store.publish('race', 'drift', { level: 'medium', types: [] }, { writer: 'w9', expected: latest.pointer.sha256 });
    expect(retry.ok && retry.pointer.version === 3).toBe(true);
    expect((await store.history('race', 'drift')).map((p) => p.version)).toEqual([1, 2, 3]);
  });

  it('a writer whose base is stale is refused before writing', async () => {
    await store.publish('stale', 'facts', facts(1), { writer: 'a', expected: null });
    const old = (await store.latest('stale', 'facts'))!.pointer.sha256;
    await store.publish('stale', 'facts', facts(2), { writer: 'b', expected: old });
    const r = await store.publish('stale', 'facts', facts(3), { writer: 'a', expected: old });
    expect(r).toMatchObject({ ok: false, conflict: true, current: { version: 2 } });
    const first = await store.publish('stale2', 'facts', facts(1), { writer: 'a', expected: 'f'.repeat(64) });
    expect(first).toMatchObject({ ok: false, conflict: true, current: null });
  });

  it('the pointer itself is compare-and-swap: a blind overwrite with a stale etag is refused by S3', async () => {
    await store.publish('cas', 'facts', facts(1), { writer: 'a', expected: null });
    const before = (await store.latest('cas', 'facts'))!;
    await store.publish('cas', 'facts', facts(2), { writer: 'b' });
    const err = await s3
      .send(new PutObjectCommand({ Bucket: bucket, Key: artifactKeys('cas', 'facts').latest, Body: '{}', IfMatch: before.etag }))
      .catch((e: unknown) => e as { $metadata?: { httpStatusCode?: number } });
    expect((err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode).toBe(412);
  });

  it('detects a corrupted document and validates drift documents', async () => {
    const r = await store.publish('bad', 'facts', facts(1), { writer: 'a', expected: null });
    if (!r.ok) throw new Error('publish failed');
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: r.pointer.key, Body: '{"tampered":true}' }));
    await expect(store.latest('bad', 'facts')).rejects.toThrow(/does not hash to its name/);
    await expect(store.publish('bad', 'drift', { level: 'extreme' }, { writer: 'd' })).rejects.toThrow();
    expect(await loadLatestDrift(store, 'nodrift')).toEqual({ level: 'none', types: [] });
    await store.publish('withdrift', 'drift', { level: 'critical', types: ['entropy'], notes: ['n'] }, { writer: 'd', expected: null });
    expect(await loadLatestDrift(store, 'withdrift')).toEqual({ level: 'critical', types: ['entropy'] });
  });
});
