-- Core store additions: idempotent evaluations, the evidence basis of finality
-- decisions, and indexes for the graph revision / last-change queries.

-- A finality evaluation is keyed by the message that asked for it (a redelivered
-- message finds its stored decision) and records the evidence it saw, so a human
-- decision applies to exactly that evidence and goes stale when new evidence arrives.
ALTER TABLE finality_decisions ADD COLUMN message_id text;
ALTER TABLE finality_decisions ADD COLUMN basis jsonb NOT NULL DEFAULT '{"evidence_seq": 0, "graph_revision": 0}';
CREATE UNIQUE INDEX finality_decisions_message ON finality_decisions (scope_id, message_id) WHERE message_id IS NOT NULL;
CREATE INDEX finality_decisions_human ON finality_decisions (scope_id, id DESC) WHERE option IS NOT NULL;

-- One decision record per (message, tier): a redelivered proposal returns the stored decision.
CREATE UNIQUE INDEX decision_records_message ON decision_records (scope_id, message_id, tier) WHERE message_id IS NOT NULL;

-- Graph revision = highest version id of the scope; last change = latest recorded_at.
CREATE INDEX graph_nodes_scope_version ON graph_nodes (scope_id, version_id);
CREATE INDEX graph_edges_scope_version ON graph_edges (scope_id, version_id);
CREATE INDEX graph_nodes_scope_recorded ON graph_nodes (scope_id, recorded_at);
CREATE INDEX graph_edges_scope_recorded ON graph_edges (scope_id, recorded_at);
-- As-of queries over history (every version, not only current ones).
CREATE INDEX graph_nodes_scope_time ON graph_nodes (scope_id, kind, recorded_at, superseded_at);
CREATE INDEX graph_edges_scope_time ON graph_edges (scope_id, kind, recorded_at, superseded_at);

-- Certificates by scope, newest first.
CREATE INDEX certificates_scope ON certificates (scope_id, seq DESC);
