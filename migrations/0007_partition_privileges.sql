-- Partitions carry no row-level security of their own: a query that names a
-- partition directly would skip the parent's policies. The application role
-- therefore gets no privilege on partitions at all (default privileges gave
-- it DML on every new table); it reaches them only through the parent,
-- where PostgreSQL checks privileges and applies the policies.
CREATE OR REPLACE FUNCTION tally_maintain_partitions(days_ahead int, default_retention_days int)
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
        EXECUTE format('REVOKE ALL ON %I FROM tally_app', pname);
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

DO $$
DECLARE
  p record;
BEGIN
  FOR p IN SELECT c.relname FROM tally_partitioned_tables t
             JOIN pg_inherits i ON i.inhparent = t.parent_table::regclass
             JOIN pg_class c ON c.oid = i.inhrelid LOOP
    EXECUTE format('REVOKE ALL ON %I FROM tally_app', p.relname);
  END LOOP;
END
$$;
