-- Human answers to governance reviews are decision records too (issue 13, item 2): a
-- reviewer's approval or rejection is appended beside the tier decision that asked for it
-- (which is never updated), naming who decided and, for an approval with amendments,
-- the proposal as it was and as it was approved. A human is no tier: tier is NULL exactly
-- when decided_by is set.
ALTER TABLE decision_records
  ALTER COLUMN tier DROP NOT NULL,
  ADD COLUMN decided_by   text,
  ADD COLUMN review_id    text,
  ADD COLUMN amended_from jsonb,
  ADD COLUMN amended_to   jsonb,
  ADD CONSTRAINT decision_records_human CHECK ((tier IS NULL) = (decided_by IS NOT NULL)),
  ADD CONSTRAINT decision_records_amended CHECK ((amended_from IS NULL) = (amended_to IS NULL) AND (amended_from IS NULL OR decided_by IS NOT NULL));

-- One human decision per review: a redelivered answer cannot record a second one.
CREATE UNIQUE INDEX decision_records_human_review ON decision_records (review_id) WHERE review_id IS NOT NULL;

-- The record an auditor reads is the record as written: an amendment is a new row, never an edit.
CREATE FUNCTION decision_records_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'decision_records is append-only (% refused)', TG_OP USING ERRCODE = 'insufficient_privilege';
END $$;
CREATE TRIGGER decision_records_append_only BEFORE UPDATE ON decision_records
  FOR EACH ROW EXECUTE FUNCTION decision_records_append_only();
