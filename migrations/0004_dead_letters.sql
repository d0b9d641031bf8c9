-- Messages ingest can never store (undecodable, or refused by a constraint)
-- land here with their reason and original bytes, in the same transaction
-- that stores their neighbours, before the message is terminated in
-- JetStream. Rare by nature, so not partitioned. The stream sequence makes
-- a redelivered poison message land once.
CREATE TABLE dead_letters (
  id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  tenant_id   uuid,  -- NULL when the message did not even name a tenant
  created_at  timestamptz NOT NULL DEFAULT now(),
  subject     text NOT NULL,
  stream_seq  bigint NOT NULL,
  reason      text NOT NULL,
  request_id  text,
  payload     bytea NOT NULL,
  UNIQUE (subject, stream_seq)
);
CREATE INDEX dead_letters_tenant ON dead_letters (tenant_id, created_at);
ALTER TABLE dead_letters ENABLE ROW LEVEL SECURITY;
ALTER TABLE dead_letters FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON dead_letters USING (tenant_id = tally_tenant());

-- Ingest records a dead letter whatever its tenant (possibly none), so the
-- insert goes through this one definer function.
CREATE FUNCTION tally_dead_letter(p_tenant uuid, p_subject text, p_seq bigint, p_reason text,
                                  p_request_id text, p_payload bytea)
  RETURNS void
  LANGUAGE sql SECURITY DEFINER SET search_path = public
AS $$
  INSERT INTO dead_letters (tenant_id, subject, stream_seq, reason, request_id, payload)
  VALUES (p_tenant, p_subject, p_seq, left(p_reason, 1000), p_request_id, p_payload)
  ON CONFLICT (subject, stream_seq) DO NOTHING
$$;
GRANT EXECUTE ON FUNCTION tally_dead_letter(uuid, text, bigint, text, text, bytea) TO tally_app;
