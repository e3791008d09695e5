// The facts of a scope, one document at a time (migration 009):
//
//   S3        scopes/<scope>/facts/docs/<doc_id>.<sha256>.json   one document's facts, written once
//                                                                (If-None-Match: *), named by its bytes
//   Postgres  facts_documents (scope, doc_id, key, hash, seq, version, bytes)   which objects make up
//                                                                the scope's facts, in arrival order
//
// The object is written before the step's transaction (a retry writes the same key with
// the same bytes); its index row is written inside it, with the step's other writes, so
// a document is in the scope's facts exactly when its context-log entry is. No object is
// shared between documents: there is nothing to compare-and-swap, hence no conflict.
// There is no S3 manifest: Postgres is the index, and nothing reads the facts without it.
import { GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import type { Queryable } from '../adapters/db.ts';
import type { S3Sender } from '../adapters/s3.ts';
import { ScopeId } from '../contract/envelope.ts';
import { PermanentError } from '../contract/errors.ts';
import {
  emptySnapshot,
  FactsDocumentObjectSchema,
  nextFactsVersion,
  snapshotRows,
  type FactsDocumentObject,
  type FactsEntry,
  type FactsIndexRow,
  type FactsSnapshot,
} from '../domain/facts-doc.ts';
import { canonicalJson, sha256Hex } from './artifacts.ts';

/** The key of one document's facts: scope and doc id for a reader of the bucket, the hash so that a changed document gets a new object. */
export function factsDocumentKey(scope: string, docId: string, hash: string): string {
  ScopeId.parse(scope);
  return `scopes/${scope}/facts/docs/${docId}.${hash}.json`;
}

/** Reads of a snapshot's objects in flight at once. */
const READ_CONCURRENCY = 16;

const status = (err: unknown) => (err as { $metadata?: { httpStatusCode?: number } })?.$metadata?.httpStatusCode;
const isPreconditionFailure = (err: unknown) => status(err) === 412 || status(err) === 409 || (err as Error)?.name === 'PreconditionFailed';
const isMissing = (err: unknown) => status(err) === 404 || (err as Error)?.name === 'NoSuchKey';

export interface StoredFactsObject {
  key: string;
  hash: string;
  bytes: number;
}

export interface FactsObjectStore {
  /** Write one document's facts; idempotent (same facts → same key, same bytes; an existing object is left alone). */
  put(scope: string, docId: string, entry: FactsEntry): Promise<StoredFactsObject>;
  /** Read one object back and check it hashes to its name. */
  get(key: string, hash: string): Promise<FactsDocumentObject>;
}

export function createFactsObjectStore(s3: S3Sender, bucket: string): FactsObjectStore {
  // `s3` comes guarded (Deps.s3: retries and the one "s3" breaker, shared/runtime/guarded.ts).
  return {
    async put(scope, docId, entry) {
      const doc: FactsDocumentObject = { format: 2, scope, doc_id: docId, title: entry.title, kind: entry.kind, tier: entry.tier, facts: entry.facts };
      const body = canonicalJson(doc);
      const hash = sha256Hex(body);
      const key = factsDocumentKey(scope, docId, hash);
      try {
        await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body, ContentType: 'application/json', IfNoneMatch: '*' }));
      } catch (err) {
        // Already there: content-addressed, so it holds exactly these bytes (a retry, or the same document again).
        if (!isPreconditionFailure(err)) throw err;
      }
      return { key, hash, bytes: Buffer.byteLength(body) };
    },

    async get(key, hash) {
      let body: string;
      try {
        const res = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
        body = await res.Body!.transformToString('utf-8');
      } catch (err) {
        if (isMissing(err)) throw new PermanentError('facts_object_missing', `${key}, listed in facts_documents, is missing`);
        throw err;
      }
      if (sha256Hex(body) !== hash) throw new PermanentError('artifact_corrupt', `${key} does not hash to its name`);
      return FactsDocumentObjectSchema.parse(JSON.parse(body)) as FactsDocumentObject;
    },
  };
}

interface Raw {
  doc_id: string;
  key: string;
  hash: string;
  seq: string;
  version: string;
}
const toRow = (r: Raw): FactsIndexRow & { version: string } => ({ docId: r.doc_id, key: r.key, hash: r.hash, seq: Number(r.seq), version: r.version });

/** The scope's current facts version and the seq it stands at; null before the first document. */
export async function factsHead(q: Queryable, scope: string): Promise<{ version: string; seq: number } | null> {
  const { rows } = await q.query<{ version: string; seq: string }>('SELECT version, seq FROM facts_documents WHERE scope_id = $1 ORDER BY seq DESC LIMIT 1', [scope]);
  return rows[0] ? { version: rows[0].version, seq: Number(rows[0].seq) } : null;
}

/**
 * Add a document's object to the scope's facts, inside the step's transaction (callers
 * hold the facts step's per-scope lock, so the head read here is the last row). The same
 * facts for the same doc id again change nothing. Returns the scope's version after it.
 */
export async function recordFactsDocument(
  tx: Queryable,
  input: { scope: string; docId: string; seq: number } & StoredFactsObject,
): Promise<{ version: string; added: boolean }> {
  const head = await factsHead(tx, input.scope);
  const { rows } = await tx.query<{ hash: string }>('SELECT hash FROM facts_documents WHERE scope_id = $1 AND doc_id = $2 ORDER BY seq DESC LIMIT 1', [input.scope, input.docId]);
  // The document again with the facts it already has: the scope's facts are unchanged.
  if (head && rows[0]?.hash === input.hash) return { version: head.version, added: false };
  const version = nextFactsVersion(head?.version ?? null, input.docId, input.hash);
  await tx.query('INSERT INTO facts_documents (scope_id, doc_id, key, hash, seq, version, bytes) VALUES ($1, $2, $3, $4, $5, $6, $7)', [
    input.scope, input.docId, input.key, input.hash, input.seq, version, input.bytes,
  ]);
  return { version, added: true };
}

/** Index rows of the snapshot at `version` (default: the current one); null when the version is unknown (e.g. one of the pre-009 artifact). */
export async function factsIndexAt(q: Queryable, scope: string, version?: string): Promise<{ version: string; seq: number; rows: FactsIndexRow[] } | null> {
  let at: { version: string; seq: number } | null;
  if (version === undefined) {
    at = await factsHead(q, scope);
    if (!at) return null;
  } else {
    const { rows } = await q.query<{ seq: string }>('SELECT seq FROM facts_documents WHERE scope_id = $1 AND version = $2 ORDER BY seq LIMIT 1', [scope, version]);
    if (!rows[0]) return null;
    at = { version, seq: Number(rows[0].seq) };
  }
  const { rows } = await q.query<Raw>('SELECT doc_id, key, hash, seq, version FROM facts_documents WHERE scope_id = $1 AND seq <= $2 ORDER BY seq', [scope, at.seq]);
  return { ...at, rows: snapshotRows(rows.map(toRow), at.seq) };
}

/** The scope's facts at `version` (default: current), read from S3; null when there are none at that version. */
export async function loadFactsSnapshot(q: Queryable, objects: FactsObjectStore, scope: string, version?: string): Promise<FactsSnapshot | null> {
  const idx = await factsIndexAt(q, scope, version);
  if (!idx) return null;
  const snap = emptySnapshot(scope, idx.version);
  const got: FactsDocumentObject[] = new Array(idx.rows.length);
  for (let i = 0; i < idx.rows.length; i += READ_CONCURRENCY) {
    const batch = idx.rows.slice(i, i + READ_CONCURRENCY);
    (await Promise.all(batch.map((r) => objects.get(r.key, r.hash)))).forEach((o, j) => (got[i + j] = o));
  }
  idx.rows.forEach((r, i) => {
    const o = got[i]!;
    snap.order.push(r.docId);
    snap.documents[r.docId] = { title: o.title, kind: o.kind, tier: o.tier, facts: o.facts };
  });
  return snap;
}
