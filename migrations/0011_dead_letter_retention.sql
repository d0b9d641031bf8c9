-- Dead letters are kept for an operator to read and replay, not forever: a
-- flood of poison messages would otherwise fill the disk. Ingest's
-- maintenance deletes rows older than TALLY_DEAD_LETTER_RETENTION_DAYS. The
-- dead-letter stream keeps its copies for the stream's max age (7 days by
-- default) on its own.
CREATE INDEX dead_letters_created_at ON dead_letters (created_at);

-- Deletes dead letters older than keep_days, at most max_rows of them (the
-- oldest first), across tenants; returns how many. Serialised like partition
-- maintenance.
CREATE FUNCTION tally_prune_dead_letters(keep_days int, max_rows int) RETURNS bigint
  LANGUAGE plpgsql SECURITY DEFINER SET search_path = public
AS $$
DECLARE
  n bigint;
BEGIN
  PERFORM pg_advisory_xact_lock(hashtext('tally_prune_dead_letters'));
  DELETE FROM dead_letters
   WHERE id IN (SELECT id FROM dead_letters
                 WHERE created_at < now() - make_interval(days => keep_days)
                 ORDER BY created_at LIMIT max_rows);
  GET DIAGNOSTICS n = ROW_COUNT;
  RETURN n;
END
$$;
GRANT EXECUTE ON FUNCTION tally_prune_dead_letters(int, int) TO tally_ingest;
