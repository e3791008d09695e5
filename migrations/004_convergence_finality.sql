-- Convergence trajectory, finality outcomes and the signed certificate chain.
CREATE TABLE convergence_history (
  scope_id    text NOT NULL REFERENCES scopes ON DELETE CASCADE,
  round       integer NOT NULL CHECK (round > 0),
  epoch       bigint NOT NULL,
  goal_score  double precision NOT NULL,
  lyapunov_v  double precision NOT NULL,
  dimensions  jsonb NOT NULL,
  pressure    jsonb NOT NULL,
  snapshot    jsonb NOT NULL DEFAULT '{}',
  -- The evaluation message that produced this round: a redelivery adds no round.
  message_id  text,
  created_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (scope_id, round)
);
CREATE UNIQUE INDEX convergence_history_message ON convergence_history (scope_id, message_id)
  WHERE message_id IS NOT NULL;

CREATE TABLE finality_decisions (
  id          bigserial PRIMARY KEY,
  scope_id    text NOT NULL REFERENCES scopes ON DELETE CASCADE,
  round       integer,
  outcome     text NOT NULL CHECK (outcome IN ('RESOLVED', 'ESCALATED', 'BLOCKED', 'EXPIRED', 'REVIEW', 'ACTIVE')),
  decided_by  text NOT NULL,                 -- evaluator | human:<name>
  option      text CHECK (option IN ('approve_finality', 'provide_resolution', 'escalate', 'defer')),
  days        integer CHECK (days IS NULL OR days > 0),
  reasons     jsonb NOT NULL DEFAULT '[]',
  details     jsonb NOT NULL DEFAULT '{}',
  created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX finality_decisions_scope ON finality_decisions (scope_id, created_at DESC);

CREATE TABLE signing_keys (
  key_id     text PRIMARY KEY,
  public_jwk jsonb NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  retired_at timestamptz
);

CREATE TABLE certificates (
  certificate_id uuid PRIMARY KEY,
  scope_id       text NOT NULL REFERENCES scopes ON DELETE CASCADE,
  seq            integer NOT NULL CHECK (seq > 0),
  previous_id    uuid REFERENCES certificates,
  outcome        text NOT NULL CHECK (outcome IN ('RESOLVED', 'ESCALATED', 'BLOCKED', 'EXPIRED')),
  key_id         text NOT NULL REFERENCES signing_keys,
  jws            text NOT NULL,
  payload        jsonb NOT NULL,
  created_at     timestamptz NOT NULL DEFAULT now(),
  UNIQUE (scope_id, seq),
  CHECK ((seq = 1) = (previous_id IS NULL))
);
