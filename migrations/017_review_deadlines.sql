-- Review deadlines (issue 13, item 3; governance.yaml `deadlines`). A review's clock runs
-- from its creation, or from its last escalation: escalation_level counts escalations,
-- escalated_to is the OpenFGA group whose members may now answer it too.
ALTER TABLE review_queue
  ADD COLUMN escalation_level integer NOT NULL DEFAULT 0 CHECK (escalation_level >= 0),
  ADD COLUMN escalated_to     text,
  ADD COLUMN escalated_at     timestamptz,
  ADD CONSTRAINT review_queue_escalation CHECK ((escalation_level = 0) = (escalated_at IS NULL));

-- The tick's query: pending reviews of one kind and level whose clock started before a
-- cutoff, oldest first — a range scan per (kind, level), whatever the size of the queue.
CREATE INDEX review_queue_deadline ON review_queue (kind, escalation_level, (coalesce(escalated_at, created_at)), review_id)
  WHERE status = 'pending';

