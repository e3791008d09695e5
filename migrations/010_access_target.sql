-- The object an allowed write acted on (the review id of a review.respond), so a step
-- receiving a human answer from the bus can check that the API authenticated,
-- authorized and recorded that very answer before it takes effect.
ALTER TABLE access_log ADD COLUMN target text;
CREATE INDEX access_log_target ON access_log (target) WHERE target IS NOT NULL;
