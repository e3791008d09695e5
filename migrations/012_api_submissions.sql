-- What the HTTP API must remember to answer a conflicting request synchronously
-- (the steps record documents and answers only later, asynchronously):
--   api_documents: the content a doc_id was first submitted with, so a different text
--     under the same doc_id is refused (409 doc_id_conflict) while the same text is a
--     duplicate;
--   api_idempotency_keys: the request an Idempotency-Key was first used for (a hash of
--     the body), so the key reused with another body is refused (422
--     idempotency_key_reused) and a retry gets the original doc_id;
--   api_review_answers: the first answer accepted for a review, so a second, different
--     answer is refused (409 review_already_answered) before anything is published.
-- Rows are written before the message is published (and removed again if publishing
-- fails), so two racing requests cannot both be accepted.
CREATE TABLE api_documents (
  scope_id     text NOT NULL,
  doc_id       text NOT NULL,
  message_id   text NOT NULL,                -- a hash of scope, doc_id, kind and text: the content it is bound to
  submitted_by text NOT NULL,
  created_at   timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (scope_id, doc_id)
);

CREATE TABLE api_idempotency_keys (
  principal    text NOT NULL,
  scope_id     text NOT NULL,
  key          text NOT NULL,
  request_hash text NOT NULL,                -- of the validated body
  doc_id       text NOT NULL,
  message_id   text NOT NULL,
  created_at   timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (principal, scope_id, key)
);
CREATE INDEX api_idempotency_keys_at ON api_idempotency_keys (created_at);

CREATE TABLE api_review_answers (
  review_id    text PRIMARY KEY,
  answer_hash  text NOT NULL,                -- option, days, note, text, responder
  message_id   text NOT NULL,
  responder    text NOT NULL,
  created_at   timestamptz NOT NULL DEFAULT now()
);
