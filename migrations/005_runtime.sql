-- Message runtime: the idempotency inbox, dead letters, activation-filter memory.

-- One row per (consumer, message id). A step claims the message (in_progress,
-- with an expiry so a crashed claim can be taken over), and marks it completed
-- with its stored result in the same transaction as its writes; a redelivery
-- returns the stored result instead of running again.
CREATE TABLE inbox (
  consumer          text NOT NULL,
  message_id        text NOT NULL,
  status            text NOT NULL CHECK (status IN ('in_progress', 'completed')),
  claim_token       uuid,
  in_progress_until timestamptz,
  result            jsonb,
  scope_id          text,
  created_at        timestamptz NOT NULL DEFAULT now(),
  completed_at      timestamptz,
  expires_at        timestamptz,
  PRIMARY KEY (consumer, message_id),
  CHECK (status <> 'completed' OR result IS NOT NULL)
);
CREATE INDEX inbox_expires ON inbox (expires_at) WHERE status = 'completed';

CREATE TABLE dead_letters (
  id          bigserial PRIMARY KEY,
  consumer    text NOT NULL,
  subject     text NOT NULL,
  message_id  text,
  scope_id    text,
  error_class text NOT NULL CHECK (error_class IN ('permanent', 'transient')),
  error_code  text NOT NULL,
  reason      text NOT NULL,
  deliveries  integer NOT NULL,
  stream_seq  bigint,
  dlq_seq     bigint,
  data        bytea NOT NULL,
  headers     jsonb NOT NULL DEFAULT '{}',
  created_at  timestamptz NOT NULL DEFAULT now(),
  replayed_at timestamptz,
  replay_count integer NOT NULL DEFAULT 0,
  UNIQUE (consumer, stream_seq)
);
CREATE INDEX dead_letters_created ON dead_letters (created_at DESC);

-- Activation-filter memory per (scope, agent): what the agent last saw.
CREATE TABLE agent_memory (
  scope_id          text NOT NULL REFERENCES scopes ON DELETE CASCADE,
  agent             text NOT NULL,
  last_seq          bigint NOT NULL DEFAULT 0,
  last_hash         text,
  last_activated_at timestamptz,
  stats             jsonb NOT NULL DEFAULT '{}',
  updated_at        timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (scope_id, agent)
);
