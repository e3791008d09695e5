-- Documents read and waiting to be merged into their scope's facts (issue 11).
--
-- The facts step reads a document (extraction, embeddings, the S3 object) without any
-- lock, then stages it here. Merging into the scope (reconcile against what the scope
-- already knows) runs under the scope's lock, one document after another; whoever holds
-- the lock digests every staged document of the scope, in arrival order, a bounded
-- batch per transaction — so a burst costs a few transactions, not one per document,
-- and the documents that waited find their work done. A row is deleted in the same
-- transaction that completes its own message's inbox record; until then `result`
-- holds what the digest did for it.
CREATE TABLE facts_queue (
  id           bigserial PRIMARY KEY,
  scope_id     text NOT NULL REFERENCES scopes ON DELETE CASCADE,
  message_id   text NOT NULL,
  doc_id       text NOT NULL,
  -- The document, its extraction and vectors: what the digest needs. NULL once digested.
  staged       jsonb,
  -- What the digest did (counts, facts version); NULL until digested.
  result       jsonb,
  staged_at    timestamptz NOT NULL DEFAULT now(),
  digested_at  timestamptz,
  CHECK ((digested_at IS NULL) = (result IS NULL)),
  UNIQUE (scope_id, message_id)
);
CREATE INDEX facts_queue_pending ON facts_queue (scope_id, id) WHERE digested_at IS NULL;
