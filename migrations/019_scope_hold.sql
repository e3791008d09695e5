-- Pause, resume, close (issue 13, item 5). An operator's hold on a scope, kept apart
-- from `status` (the finality outcome): a paused scope accepts documents but its steps
-- hold what they receive; a closed one refuses documents and its steps do nothing more.
ALTER TABLE scopes
  ADD COLUMN hold       text CHECK (hold IN ('paused', 'closed')),
  ADD COLUMN held_since timestamptz,
  ADD COLUMN held_by    text,
  -- Counts the resumes that released held messages: part of each release message's id,
  -- so that JetStream's duplicate window never drops a later release of the same message.
  ADD COLUMN releases   integer NOT NULL DEFAULT 0,
  ADD CONSTRAINT scopes_hold_who CHECK ((hold IS NULL) = (held_since IS NULL) AND (hold IS NULL) = (held_by IS NULL));

-- What a step received while its scope was paused, recorded in the same transaction as
-- the message's inbox completion (so it is acknowledged without being lost). A resume
-- releases each row to the step that holds it; the step deletes the row in the
-- transaction that finally acts on it.
CREATE TABLE held_messages (
  scope_id   text NOT NULL REFERENCES scopes ON DELETE CASCADE,
  consumer   text NOT NULL,
  message_id text NOT NULL,
  type       text NOT NULL,
  envelope   jsonb NOT NULL,
  held_at    timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (scope_id, consumer, message_id)
);
