-- The idempotency ledger only has to outlive every way a batch can come
-- back: a redelivery from the stream (TALLY_STREAM_MAX_AGE_S, 7 days by
-- default) or a re-send from an agent's store-and-forward queue. Older rows
-- are pruned by ingest's maintenance (TALLY_LEDGER_RETENTION_DAYS); a batch
-- that returns after its row is gone would be stored again.
CREATE INDEX ingested_batches_ingested_at ON ingested_batches (ingested_at);

-- Deletes ledger rows older than keep_days, at most max_rows of them (the
-- oldest first), across tenants; returns how many. Serialised like partition
-- maintenance.
CREATE FUNCTION tally_prune_ledger(keep_days int, max_rows int) RETURNS bigint
  LANGUAGE plpgsql SECURITY DEFINER SET search_path = public
AS $$
DECLARE
  n bigint;
BEGIN
  PERFORM pg_advisory_xact_lock(hashtext('tally_prune_ledger'));
  DELETE FROM ingested_batches b
   WHERE (b.tenant_id, b.agent_id, b.batch_id) IN (
     SELECT tenant_id, agent_id, batch_id FROM ingested_batches
      WHERE ingested_at < now() - make_interval(days => keep_days)
      ORDER BY ingested_at LIMIT max_rows);
  GET DIAGNOSTICS n = ROW_COUNT;
  RETURN n;
END
$$;
GRANT EXECUTE ON FUNCTION tally_prune_ledger(int, int) TO tally_app;
