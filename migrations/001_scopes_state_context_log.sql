-- Scopes, the per-scope state machine and the append-only context log (WAL).
CREATE EXTENSION IF NOT EXISTS vector;

CREATE TABLE scopes (
  scope_id         text PRIMARY KEY CHECK (scope_id ~ '^[a-z0-9][a-z0-9_-]{0,63}$'),
  status           text NOT NULL DEFAULT 'open'
                   CHECK (status IN ('open', 'resolved', 'escalated', 'blocked', 'expired')),
  -- Governance mode override for this scope; NULL means governance.yaml decides.
  mode             text CHECK (mode IN ('YOLO', 'MITL', 'MASTER')),
  -- Head of this scope's context log: appends take this row lock, so per-scope
  -- sequence numbers are gap-free and commit in order (a cursor never skips).
  last_seq         bigint NOT NULL DEFAULT 0,
  last_activity_at timestamptz NOT NULL DEFAULT now(),
  metadata         jsonb NOT NULL DEFAULT '{}',
  created_at       timestamptz NOT NULL DEFAULT now(),
  updated_at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX scopes_status ON scopes (status, last_activity_at);

CREATE TABLE scope_state (
  scope_id   text PRIMARY KEY REFERENCES scopes ON DELETE CASCADE,
  node       text NOT NULL CHECK (node IN ('ContextIngested', 'FactsExtracted', 'DriftChecked')),
  -- Compare-and-swap counter: an advance names the epoch it read.
  epoch      bigint NOT NULL DEFAULT 0 CHECK (epoch >= 0),
  run_id     text,
  updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE context_log (
  scope_id   text NOT NULL REFERENCES scopes ON DELETE CASCADE,
  seq        bigint NOT NULL CHECK (seq > 0),
  kind       text NOT NULL,
  payload    jsonb NOT NULL DEFAULT '{}',
  source     text NOT NULL,
  message_id text,
  trace_id   text,
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (scope_id, seq)
);
CREATE INDEX context_log_kind ON context_log (scope_id, kind, seq);
CREATE INDEX context_log_created ON context_log (created_at);
CREATE UNIQUE INDEX context_log_message ON context_log (scope_id, message_id, kind) WHERE message_id IS NOT NULL;

-- Append-only: rows are never updated; only the compaction job (which sets
-- swarm.compaction = 'on' for its transaction) may delete.
CREATE FUNCTION context_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'DELETE' AND current_setting('swarm.compaction', true) = 'on' THEN
    RETURN OLD;
  END IF;
  RAISE EXCEPTION 'context_log is append-only (% refused)', TG_OP USING ERRCODE = 'insufficient_privilege';
END $$;
CREATE TRIGGER context_log_append_only BEFORE UPDATE OR DELETE ON context_log
  FOR EACH ROW EXECUTE FUNCTION context_log_append_only();
