-- Outgoing webhooks (issue 13, item 4). A scope's own webhooks, set through the API
-- (global ones are configuration: WEBHOOKS); and one row per delivered notification.
--   webhooks.secret: the HMAC key the requests are signed with. It has to be readable
--     to sign, so it is stored as given; the API never returns it after creation.
--   webhook_deliveries: written in the notifier's commit after the receiver answered
--     2xx (with the inbox record of the notification.deliver message), so a delivery
--     id has at most one row; for operators and tests, not read by the sender.
CREATE TABLE webhooks (
  scope_id    text NOT NULL REFERENCES scopes ON DELETE CASCADE,
  webhook_id  text NOT NULL CHECK (webhook_id ~ '^[a-z0-9][a-z0-9_-]{0,63}$'),
  url         text NOT NULL CHECK (length(url) <= 2000 AND url ~ '^https?://'),
  events      text[] NOT NULL CHECK (cardinality(events) BETWEEN 1 AND 6),
  format      text NOT NULL CHECK (format IN ('json', 'slack')),
  secret      text NOT NULL CHECK (length(secret) BETWEEN 24 AND 200),
  created_by  text NOT NULL,
  created_at  timestamptz NOT NULL DEFAULT now(),
  updated_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (scope_id, webhook_id)
);

CREATE TABLE webhook_deliveries (
  delivery_id   text PRIMARY KEY,
  scope_id      text NOT NULL,
  webhook       text NOT NULL,
  event         text NOT NULL,
  status_code   int NOT NULL,
  attempt       int NOT NULL,
  delivered_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX webhook_deliveries_scope ON webhook_deliveries (scope_id, delivered_at);
