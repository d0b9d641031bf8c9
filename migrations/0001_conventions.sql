-- Conventions every later migration follows (docs/architecture.md, "Schema"):
--  * Tables are owned by the role that runs `tally migrate` (tally_owner).
--  * serve and ingest connect as tally_app: DML only, no ownership, no
--    BYPASSRLS, so row-level security always applies to them.
--  * Every tenant-owned table has tenant_id and a policy on tally_tenant(),
--    the per-transaction setting app.tenant_id; RLS is ENABLEd and FORCEd.
--    An unset setting yields NULL, which matches no row: fail closed.
--  * Time-series tables are range-partitioned by day on a timestamptz,
--    registered in tally_partitioned_tables; tally_maintain_partitions()
--    creates them ahead and drops them after retention. No DEFAULT
--    partition: a row outside the window fails loudly instead of hiding.

DO $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'tally_app') THEN
    RAISE EXCEPTION 'role tally_app must exist before migrating (see deploy/local/pg-bootstrap.sql)';
  END IF;
END
$$;

CREATE FUNCTION tally_tenant() RETURNS uuid
  LANGUAGE sql STABLE
  AS $$ SELECT nullif(current_setting('app.tenant_id', true), '')::uuid $$;

GRANT USAGE ON SCHEMA public TO tally_app;
ALTER DEFAULT PRIVILEGES GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO tally_app;
ALTER DEFAULT PRIVILEGES GRANT USAGE, SELECT ON SEQUENCES TO tally_app;
-- Functions are callable by PUBLIC by default; SECURITY DEFINER ones must
-- opt in explicitly.
ALTER DEFAULT PRIVILEGES REVOKE EXECUTE ON FUNCTIONS FROM PUBLIC;
GRANT EXECUTE ON FUNCTION tally_tenant() TO tally_app;

CREATE TABLE tally_partitioned_tables (
  parent_table   text PRIMARY KEY,
  retention_days int CHECK (retention_days > 0)  -- NULL: the configured default
);

-- Creates missing daily partitions from yesterday to days_ahead days ahead
-- (UTC days) and drops partitions whose day is older than the retention.
-- Returns one line per action. Idempotent; one maintainer at a time.
CREATE FUNCTION tally_maintain_partitions(days_ahead int, default_retention_days int)
  RETURNS SETOF text
  LANGUAGE plpgsql SECURITY DEFINER SET search_path = public
AS $$
DECLARE
  t record;
  part record;
  today date := (now() AT TIME ZONE 'UTC')::date;
  d date;
  pname text;
BEGIN
  PERFORM pg_advisory_xact_lock(hashtext('tally_maintain_partitions'));
  FOR t IN SELECT parent_table, coalesce(retention_days, default_retention_days) AS keep
             FROM tally_partitioned_tables ORDER BY parent_table LOOP
    FOR d IN SELECT generate_series(today - 1, today + days_ahead, interval '1 day')::date LOOP
      pname := t.parent_table || '_p' || to_char(d, 'YYYYMMDD');
      IF to_regclass(pname) IS NULL THEN
        EXECUTE format('CREATE TABLE %I PARTITION OF %I FOR VALUES FROM (%L) TO (%L)',
                       pname, t.parent_table, d::text || ' 00:00:00+00', (d + 1)::text || ' 00:00:00+00');
        RETURN NEXT 'created ' || pname;
      END IF;
    END LOOP;
    FOR part IN SELECT c.relname FROM pg_inherits i
                  JOIN pg_class c ON c.oid = i.inhrelid
                 WHERE i.inhparent = t.parent_table::regclass
                   AND c.relname ~ ('^' || t.parent_table || '_p[0-9]{8}$') LOOP
      IF to_date(right(part.relname, 8), 'YYYYMMDD') < today - t.keep THEN
        EXECUTE format('DROP TABLE %I', part.relname);
        RETURN NEXT 'dropped ' || part.relname;
      END IF;
    END LOOP;
  END LOOP;
END
$$;
GRANT EXECUTE ON FUNCTION tally_maintain_partitions(int, int) TO tally_app;
