// Drift and history documents in S3 (and, before migration 009, the whole-scope facts
// artifact; facts are now one object per document, facts-documents.ts). Key layout
// (per scope and kind):
//
//   scopes/<scope>/<kind>/<sha256>.json           the document, content-addressed, written once (If-None-Match: *)
//   scopes/<scope>/<kind>/latest.json             pointer {version, sha256, previous_sha256, ...}, replaced only
//                                                 by compare-and-swap (If-Match: <etag>; If-None-Match: * for the first)
//   scopes/<scope>/<kind>/history/<version>.json  copy of each pointer, version zero-padded to 12 digits
//
// A writer states which version it based its work on (`expected`); if latest moved, or
// another writer replaces the pointer between its read and its write, it gets a
// conflict back instead of silently overwriting. Reads check the document's sha256.
import { createHash } from 'node:crypto';
import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand } from '@aws-sdk/client-s3';
import { z } from 'zod';
import type { S3Sender } from '../adapters/s3.ts';
import { ScopeId } from '../contract/envelope.ts';
import { PermanentError } from '../contract/errors.ts';
import type { Drift } from '../domain/governance.ts';
import { DriftLevelSchema, DriftTypeSchema } from '../domain/policy.ts';

export const ARTIFACT_KINDS = ['facts', 'drift', 'history'] as const;
export type ArtifactKind = (typeof ARTIFACT_KINDS)[number];

export const Pointer = z.object({
  scope: z.string(),
  kind: z.enum(ARTIFACT_KINDS),
  version: z.number().int().min(1),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  key: z.string(),
  previous_sha256: z.string().nullable(),
  bytes: z.number().int().min(0),
  writer: z.string(),
  written_at: z.string(),
});
export type Pointer = z.infer<typeof Pointer>;

/** The drift document governance reads (reference §4). */
export const DriftDocument = z.looseObject({
  level: DriftLevelSchema,
  types: z.array(DriftTypeSchema).default([]),
  notes: z.array(z.string()).default([]),
  references: z.array(z.record(z.string(), z.unknown())).default([]),
  facts_sha256: z.string().optional(),
});
export type DriftDocument = z.infer<typeof DriftDocument>;

export const artifactKeys = (scope: string, kind: ArtifactKind) => {
  ScopeId.parse(scope);
  const base = `scopes/${scope}/${kind}`;
  return {
    base,
    object: (sha: string) => `${base}/${sha}.json`,
    latest: `${base}/latest.json`,
    history: (version: number) => `${base}/history/${String(version).padStart(12, '0')}.json`,
    historyPrefix: `${base}/history/`,
  };
};

/** Canonical JSON (sorted keys) so the same document always has the same hash. */
export function canonicalJson(v: unknown): string {
  return JSON.stringify(v, (_k, x: unknown) =>
    x && typeof x === 'object' && !Array.isArray(x)
      ? Object.fromEntries(Object.entries(x as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : x,
  );
}

export const sha256Hex = (s: string): string => createHash('sha256').update(s, 'utf8').digest('hex');

export type PublishResult =
  | { ok: true; changed: boolean; pointer: Pointer }
  /** Someone else published first: re-read, redo the work on their version, try again. */
  | { ok: false; conflict: true; current: Pointer | null };

export interface StoredDocument<T = unknown> {
  pointer: Pointer;
  etag: string;
  document: T;
}

const status = (err: unknown) => (err as { $metadata?: { httpStatusCode?: number } })?.$metadata?.httpStatusCode;
const isPreconditionFailure = (err: unknown) => status(err) === 412 || status(err) === 409 || (err as Error)?.name === 'PreconditionFailed';
const isMissing = (err: unknown) => status(err) === 404 || (err as Error)?.name === 'NoSuchKey';

export interface ArtifactStore {
  /** Publish a new version. `expected`: the sha256 the writer built on (null: there was none). */
  publish(scope: string, kind: ArtifactKind, document: unknown, opts: { writer: string; expected?: string | null }): Promise<PublishResult>;
  latest<T = unknown>(scope: string, kind: ArtifactKind): Promise<StoredDocument<T> | null>;
  bySha<T = unknown>(scope: string, kind: ArtifactKind, sha: string): Promise<T | null>;
  history(scope: string, kind: ArtifactKind, limit?: number): Promise<Pointer[]>;
}

export function createArtifactStore(s3: S3Sender, bucket: string): ArtifactStore {
  // `s3` comes guarded (Deps.s3: retries and the one "s3" breaker, shared/runtime/guarded.ts).
  const getText = async (key: string): Promise<{ body: string; etag: string } | null> => {
    try {
      const res = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
      return { body: await res.Body!.transformToString('utf-8'), etag: res.ETag ?? '' };
    } catch (err) {
      if (isMissing(err)) return null;
      throw err;
    }
  };

  const putIfAbsent = async (key: string, body: string): Promise<boolean> => {
    try {
      await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body, ContentType: 'application/json', IfNoneMatch: '*' }));
      return true;
    } catch (err) {
      if (isPreconditionFailure(err)) return false;
      throw err;
    }
  };

  const readPointer = async (scope: string, kind: ArtifactKind): Promise<{ pointer: Pointer; etag: string } | null> => {
    const got = await getText(artifactKeys(scope, kind).latest);
    if (!got) return null;
    return { pointer: Pointer.parse(JSON.parse(got.body)), etag: got.etag };
  };

  const store: ArtifactStore = {
    async publish(scope, kind, document, { writer, expected }) {
      const keys = artifactKeys(scope, kind);
      if (kind === 'drift') DriftDocument.parse(document);
      const body = canonicalJson(document);
      const sha = sha256Hex(body);
      const cur = await readPointer(scope, kind);
      if (expected !== undefined && (cur?.pointer.sha256 ?? null) !== expected) {
        return { ok: false, conflict: true, current: cur?.pointer ?? null };
      }
      if (cur?.pointer.sha256 === sha) return { ok: true, changed: false, pointer: cur.pointer };
      // Content-addressed: an existing object under this key already holds exactly this body.
      await putIfAbsent(keys.object(sha), body);
      const pointer: Pointer = {
        scope,
        kind,
        version: (cur?.pointer.version ?? 0) + 1,
        sha256: sha,
        key: keys.object(sha),
        previous_sha256: cur?.pointer.sha256 ?? null,
        bytes: Buffer.byteLength(body),
        writer,
        written_at: new Date().toISOString(),
      };
      const pbody = JSON.stringify(pointer);
      try {
        await s3.send(
          new PutObjectCommand({
            Bucket: bucket,
            Key: keys.latest,
            Body: pbody,
            ContentType: 'application/json',
            ...(cur ? { IfMatch: cur.etag } : { IfNoneMatch: '*' }),
          }),
        );
      } catch (err) {
        if (isPreconditionFailure(err)) return { ok: false, conflict: true, current: (await readPointer(scope, kind))?.pointer ?? null };
        throw err;
      }
      // After the pointer (the point of decision); a crash here leaves a gap in history, never a wrong latest.
      await putIfAbsent(keys.history(pointer.version), pbody);
      return { ok: true, changed: true, pointer };
    },

    async latest<T>(scope: string, kind: ArtifactKind) {
      const cur = await readPointer(scope, kind);
      if (!cur) return null;
      const doc = await store.bySha<T>(scope, kind, cur.pointer.sha256);
      if (doc === null) throw new PermanentError('artifact_missing', `${cur.pointer.key} named by latest.json is missing`);
      return { pointer: cur.pointer, etag: cur.etag, document: doc };
    },

    async bySha<T>(scope: string, kind: ArtifactKind, sha: string) {
      const got = await getText(artifactKeys(scope, kind).object(sha));
      if (!got) return null;
      if (sha256Hex(got.body) !== sha) throw new PermanentError('artifact_corrupt', `scopes/${scope}/${kind}/${sha}.json does not hash to its name`);
      return JSON.parse(got.body) as T;
    },

    async history(scope, kind, limit = 100) {
      const keys = artifactKeys(scope, kind);
      const names: string[] = [];
      let token: string | undefined;
      do {
        const page = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: keys.historyPrefix, ContinuationToken: token }));
        for (const o of page.Contents ?? []) if (o.Key) names.push(o.Key);
        token = page.IsTruncated ? page.NextContinuationToken : undefined;
      } while (token);
      // Zero-padded versions sort lexically: the newest `limit` are the last keys.
      const wanted = names.sort().slice(-Math.max(1, limit));
      const got = await Promise.all(wanted.map((k) => getText(k)));
      return got.filter((g) => g !== null).map((g) => Pointer.parse(JSON.parse(g.body)));
    },
  };
  return store;
}

/** The scope's current drift for governance; no drift document yet means no drift. */
export async function loadLatestDrift(store: ArtifactStore, scope: string): Promise<Drift> {
  const d = await store.latest(scope, 'drift');
  if (!d) return { level: 'none', types: [] };
  const doc = DriftDocument.parse(d.document);
  return { level: doc.level, types: doc.types };
}
