CREATE TABLE tenants (
  id         uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  name       text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
  status     text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'suspended')),
  created_at timestamptz NOT NULL DEFAULT now()
);
ALTER TABLE tenants ENABLE ROW LEVEL SECURITY;
ALTER TABLE tenants FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON tenants USING (id = tally_tenant());

-- A user is a global identity with a role in each tenant it belongs to.
CREATE TABLE users (
  id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  email         text NOT NULL UNIQUE CHECK (email = lower(email) AND length(email) BETWEEN 3 AND 320),
  password_hash text NOT NULL,
  is_superadmin boolean NOT NULL DEFAULT false,
  created_at    timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE memberships (
  tenant_id  uuid NOT NULL REFERENCES tenants (id),
  user_id    uuid NOT NULL REFERENCES users (id),
  role       text NOT NULL CHECK (role IN ('viewer', 'operator', 'admin')),
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, user_id)
);
CREATE INDEX memberships_user ON memberships (user_id);
ALTER TABLE memberships ENABLE ROW LEVEL SECURITY;
ALTER TABLE memberships FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON memberships USING (tenant_id = tally_tenant());

-- Users are visible within a tenant only through a membership in it.
ALTER TABLE users ENABLE ROW LEVEL SECURITY;
ALTER TABLE users FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_members ON users USING (
  EXISTS (SELECT 1 FROM memberships m WHERE m.user_id = users.id AND m.tenant_id = tally_tenant()));

-- Agent API keys "tly_<id>_<secret>": the id is public, the secret is stored
-- only as HMAC-SHA256 under the server pepper.
CREATE TABLE api_keys (
  id          text PRIMARY KEY CHECK (id ~ '^[0-9A-Za-z]{12}$'),
  tenant_id   uuid NOT NULL REFERENCES tenants (id),
  name        text NOT NULL DEFAULT '' CHECK (length(name) <= 200),
  secret_hash bytea NOT NULL CHECK (length(secret_hash) = 32),
  scopes      text[] NOT NULL DEFAULT '{agent}',
  created_at  timestamptz NOT NULL DEFAULT now(),
  expires_at  timestamptz,
  revoked_at  timestamptz
);
CREATE INDEX api_keys_tenant ON api_keys (tenant_id);
ALTER TABLE api_keys ENABLE ROW LEVEL SECURITY;
ALTER TABLE api_keys FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON api_keys USING (tenant_id = tally_tenant());

-- Authentication happens before the tenant is known: this one function may
-- read a key by id across tenants (the owner role bypasses RLS). It returns
-- the stored hash, never a secret.
CREATE FUNCTION tally_api_key_lookup(key_id text)
  RETURNS TABLE (tenant_id uuid, secret_hash bytea, scopes text[], expires_at timestamptz,
                 revoked_at timestamptz, tenant_status text)
  LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public
AS $$
  SELECT k.tenant_id, k.secret_hash, k.scopes, k.expires_at, k.revoked_at, t.status
    FROM api_keys k JOIN tenants t ON t.id = k.tenant_id
   WHERE k.id = key_id
$$;
GRANT EXECUTE ON FUNCTION tally_api_key_lookup(text) TO tally_app;
