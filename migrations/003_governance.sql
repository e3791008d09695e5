-- Governance audit: every evaluation leaves a decision record; human reviews queue here.
CREATE TABLE policy_versions (
  policy_version text PRIMARY KEY,           -- sha256 of the rule files
  kind           text NOT NULL,              -- governance | finality | bundle
  content        jsonb NOT NULL,             -- the files as evaluated, for audit
  created_at     timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE decision_records (
  decision_id       uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  scope_id          text NOT NULL REFERENCES scopes ON DELETE CASCADE,
  proposal_id       text NOT NULL,
  message_id        text,
  proposer          text NOT NULL,
  action            text NOT NULL,
  from_node         text,
  to_node           text,
  decision          text NOT NULL CHECK (decision IN ('approve', 'reject', 'review')),
  reasons           jsonb NOT NULL DEFAULT '[]',
  obligations       jsonb NOT NULL DEFAULT '[]',
  suggested_actions jsonb NOT NULL DEFAULT '[]',
  policy_version    text NOT NULL,
  governance_path   text NOT NULL,
  tier              smallint NOT NULL CHECK (tier IN (1, 2, 3)),
  mode              text NOT NULL CHECK (mode IN ('YOLO', 'MITL', 'MASTER')),
  authz             jsonb,
  rationale         text,
  trace_id          text,
  created_at        timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX decision_records_scope ON decision_records (scope_id, created_at);
CREATE INDEX decision_records_proposal ON decision_records (proposal_id);
CREATE INDEX decision_records_path ON decision_records (scope_id, governance_path);

CREATE TABLE review_queue (
  review_id    text PRIMARY KEY,
  scope_id     text NOT NULL REFERENCES scopes ON DELETE CASCADE,
  kind         text NOT NULL CHECK (kind IN ('governance_review', 'finality_review')),
  status       text NOT NULL DEFAULT 'pending'
               CHECK (status IN ('pending', 'approved', 'rejected', 'responded', 'deferred', 'superseded')),
  proposal_id  text,
  decision_id  uuid REFERENCES decision_records,
  request      jsonb NOT NULL,
  response     jsonb,
  responded_by text,
  defer_until  timestamptz,
  created_at   timestamptz NOT NULL DEFAULT now(),
  resolved_at  timestamptz
);
-- At most one open finality review per scope.
CREATE UNIQUE INDEX review_queue_one_finality ON review_queue (scope_id)
  WHERE kind = 'finality_review' AND status = 'pending';
CREATE INDEX review_queue_pending ON review_queue (scope_id, created_at) WHERE status = 'pending';
