-- Semantic graph: bitemporal nodes and edges. A change supersedes the current
-- version (superseded_at = now()) and inserts the next; nothing is deleted.
--   valid time:       valid_from / valid_to     (when the fact holds in the world)
--   transaction time: recorded_at / superseded_at (when the database believed it)
CREATE TABLE graph_nodes (
  version_id    bigserial PRIMARY KEY,
  node_id       uuid NOT NULL,
  scope_id      text NOT NULL REFERENCES scopes ON DELETE CASCADE,
  kind          text NOT NULL CHECK (kind IN ('claim', 'goal', 'risk', 'assessment')),
  content       text NOT NULL,
  -- Structured reading of a claim: "hiring target" / "engineers" / {"value": 20}.
  subject       text,
  metric        text,
  value         jsonb,
  confidence    double precision NOT NULL DEFAULT 0.5 CHECK (confidence >= 0 AND confidence <= 1),
  status        text NOT NULL DEFAULT 'active'
                CHECK (status IN ('active', 'resolved', 'in_progress', 'irrelevant')),
  severity      text CHECK (severity IN ('low', 'medium', 'high', 'critical')),
  source_doc    text,
  source_ref    jsonb NOT NULL DEFAULT '{}',
  embedding     vector({{EMBEDDING_DIM}}),
  content_hash  text NOT NULL,
  metadata      jsonb NOT NULL DEFAULT '{}',
  created_by    text NOT NULL,
  valid_from    timestamptz NOT NULL DEFAULT now(),
  valid_to      timestamptz,
  recorded_at   timestamptz NOT NULL DEFAULT now(),
  superseded_at timestamptz,
  CHECK (valid_to IS NULL OR valid_to > valid_from),
  CHECK (superseded_at IS NULL OR superseded_at >= recorded_at)
);
CREATE UNIQUE INDEX graph_nodes_current ON graph_nodes (node_id) WHERE superseded_at IS NULL;
CREATE INDEX graph_nodes_scope_kind ON graph_nodes (scope_id, kind, status) WHERE superseded_at IS NULL;
CREATE INDEX graph_nodes_hash ON graph_nodes (scope_id, kind, content_hash) WHERE superseded_at IS NULL;
CREATE INDEX graph_nodes_subject ON graph_nodes (scope_id, subject, metric) WHERE superseded_at IS NULL;
CREATE INDEX graph_nodes_history ON graph_nodes (node_id, recorded_at);
CREATE INDEX graph_nodes_unembedded ON graph_nodes (scope_id) WHERE superseded_at IS NULL AND embedding IS NULL;
CREATE INDEX graph_nodes_embedding ON graph_nodes USING hnsw (embedding vector_cosine_ops)
  WHERE superseded_at IS NULL;

CREATE TABLE graph_edges (
  version_id    bigserial PRIMARY KEY,
  edge_id       uuid NOT NULL,
  scope_id      text NOT NULL REFERENCES scopes ON DELETE CASCADE,
  kind          text NOT NULL CHECK (kind IN ('contradicts', 'resolves', 'supports')),
  source_id     uuid NOT NULL,
  target_id     uuid NOT NULL,
  weight        double precision NOT NULL DEFAULT 1,
  status        text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'resolved', 'irrelevant')),
  metadata      jsonb NOT NULL DEFAULT '{}',
  created_by    text NOT NULL,
  valid_from    timestamptz NOT NULL DEFAULT now(),
  valid_to      timestamptz,
  recorded_at   timestamptz NOT NULL DEFAULT now(),
  superseded_at timestamptz,
  CHECK (source_id <> target_id),
  CHECK (valid_to IS NULL OR valid_to > valid_from),
  CHECK (superseded_at IS NULL OR superseded_at >= recorded_at)
);
CREATE UNIQUE INDEX graph_edges_current ON graph_edges (edge_id) WHERE superseded_at IS NULL;
CREATE UNIQUE INDEX graph_edges_pair ON graph_edges (scope_id, kind, source_id, target_id) WHERE superseded_at IS NULL;
CREATE INDEX graph_edges_scope_kind ON graph_edges (scope_id, kind, status) WHERE superseded_at IS NULL;
CREATE INDEX graph_edges_target ON graph_edges (target_id) WHERE superseded_at IS NULL;
CREATE INDEX graph_edges_history ON graph_edges (edge_id, recorded_at);
