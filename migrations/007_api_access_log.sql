-- Authorization decisions of the HTTP API (functions/api): every denial, and every
-- allowed write (scope creation, document submission, review response). An audit:
-- the API inserts, nothing updates (retention may delete old rows). No foreign key to
-- scopes: a denial for a scope that does not exist must be recordable too.
CREATE TABLE access_log (
  id         bigserial PRIMARY KEY,
  at         timestamptz NOT NULL DEFAULT now(),
  request_id text NOT NULL,
  principal  text NOT NULL,                  -- agent:api, user:operator
  action     text NOT NULL,                  -- document.submit, review.respond, scope.read, ...
  scope_id   text,
  object     text NOT NULL,                  -- the OpenFGA object checked: scope:acme, swarm:main
  relation   text NOT NULL,                  -- ingester, reviewer, reader
  allowed    boolean NOT NULL,
  reason     text NOT NULL,                  -- allowed | denied | unavailable | unconfigured | invalid | disabled
  detail     text
);
CREATE INDEX access_log_at ON access_log (at);
CREATE INDEX access_log_denied ON access_log (scope_id, at) WHERE NOT allowed;
CREATE INDEX access_log_principal ON access_log (principal, at);

CREATE FUNCTION access_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'access_log is append-only (% refused)', TG_OP USING ERRCODE = 'insufficient_privilege';
END $$;
CREATE TRIGGER access_log_append_only BEFORE UPDATE ON access_log
  FOR EACH ROW EXECUTE FUNCTION access_log_append_only();
