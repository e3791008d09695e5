-- The facts index: one row per version of a document's extracted facts. The facts
-- themselves are an immutable S3 object per document (key derived from scope, doc id
-- and the sha256 of its bytes); this table says which objects make up the scope's
-- facts and in what order, so that no shared S3 object is rewritten per document
-- (storage grows with the documents, not with their square) and concurrent writers
-- append rows instead of racing on a compare-and-swap.
--
-- seq: the context-log seq of the document's entry (rows of a scope are written
-- under the facts step's per-scope lock, so seq order is commit order). The facts of
-- a scope "as of" seq S are, per doc id, its latest row with seq <= S, ordered by the
-- doc id's first seq. version: the scope's facts version after this row, a hash
-- chain (sha256 of the previous row's version, doc id and hash): the same documents
-- in the same order give the same version; drift remembers it and finds S back by it.
-- A document submitted again with the facts it already has adds no row.
CREATE TABLE facts_documents (
  scope_id    text NOT NULL REFERENCES scopes ON DELETE CASCADE,
  doc_id      text NOT NULL,
  key         text NOT NULL,
  hash        text NOT NULL CHECK (hash ~ '^[0-9a-f]{64}$'),
  seq         bigint NOT NULL CHECK (seq > 0),
  version     text NOT NULL CHECK (version ~ '^[0-9a-f]{64}$'),
  bytes       integer NOT NULL CHECK (bytes >= 0),
  created_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (scope_id, seq)
);
CREATE INDEX facts_documents_doc ON facts_documents (scope_id, doc_id, seq);
CREATE INDEX facts_documents_version ON facts_documents (scope_id, version);
