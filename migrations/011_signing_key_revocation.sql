-- A signing key can be revoked (compromised): it leaves the published JWKS, so no
-- certificate it signed verifies any more, and it signs nothing new. A retired key
-- (rotated out in the normal way) stays published.
ALTER TABLE signing_keys ADD COLUMN revoked_at timestamptz, ADD COLUMN revoked_reason text;
