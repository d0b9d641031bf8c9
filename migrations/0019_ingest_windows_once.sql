-- tally_ingest_begin() reads the event tables' windows in one query that
-- each connection plans once.
--
-- Every fetch calls tally_ingest_begin(), which called tally_event_window()
-- once per event table. That is a SQL function with SECURITY DEFINER and
-- its own search_path, so PostgreSQL cannot inline it: each call switched
-- the search path and planned the body again. Called 500 times in one
-- session, the function took 1.17 ms a call; with the windows read as below
-- (the same rule, inlined into a statement PL/pgSQL keeps the plan of),
-- 0.27 ms. Ingest pays it once per fetch: about 0.1 s of PostgreSQL's CPU
-- per 100,000 batches drained in fetches of 1,024, and, with the small
-- fetches of a steady load, most of what a fetch costs beyond its rows
-- besides the COMMIT.
--
-- * tally_event_windows(parents) answers each table's window: from the day
--   of its oldest partition to the end of the day of its newest (partitions
--   are named <table>_pYYYYMMDD, so the names order as the days do), NULL
--   bounds for a table without partitions. LANGUAGE sql, STABLE and without
--   SECURITY DEFINER or SET, so that PostgreSQL inlines it into its caller.
-- * tally_event_window(parent) answers the same rule through it, as before
--   (same signature and grants).
-- * tally_ingest_begin() is 0017's with the windows read through it.

CREATE FUNCTION tally_event_windows(parents text[])
  RETURNS TABLE (event_table text, lower_bound timestamptz, upper_bound timestamptz)
  LANGUAGE sql STABLE
AS $$
  SELECT p.parent, to_date(min(right(c.relname, 8)), 'YYYYMMDD')::timestamp AT TIME ZONE 'UTC',
         (to_date(max(right(c.relname, 8)), 'YYYYMMDD') + 1)::timestamp AT TIME ZONE 'UTC'
    FROM unnest(parents) AS p(parent)
    LEFT JOIN pg_inherits i ON i.inhparent = p.parent::regclass
    LEFT JOIN pg_class c ON c.oid = i.inhrelid
   GROUP BY p.parent
$$;

CREATE OR REPLACE FUNCTION tally_event_window(parent text, OUT lower_bound timestamptz,
                                              OUT upper_bound timestamptz)
  LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public
AS $$
  SELECT w.lower_bound, w.upper_bound FROM tally_event_windows(ARRAY[parent]) w
$$;

CREATE OR REPLACE FUNCTION tally_ingest_begin()
  RETURNS TABLE (event_table text, lower_us bigint, upper_us bigint)
  LANGUAGE plpgsql SET client_min_messages = warning
AS $$
BEGIN
  -- The staging tables, as in 0017 (see there for what each holds).
  CREATE TEMP TABLE IF NOT EXISTS stage_devices (
    id uuid NOT NULL, tenant_id uuid NOT NULL, agent_id uuid NOT NULL, agent_version text,
    hostname text, domain text, os_name text, os_version text, os_build text, arch text,
    serial text, manufacturer text, model text, cpu_model text, cpu_cores int,
    memory_bytes bigint, disks jsonb, ip_addresses text[], mac_addresses text[],
    boot_time timestamptz, logged_in_users text[], seen timestamptz NOT NULL)
    ON COMMIT DELETE ROWS;
  CREATE TEMP TABLE IF NOT EXISTS stage_patch_lists (
    idx int NOT NULL, tenant_id uuid NOT NULL, device_id uuid NOT NULL, at timestamptz NOT NULL,
    round int NOT NULL) ON COMMIT DELETE ROWS;
  CREATE TEMP TABLE IF NOT EXISTS stage_patches (
    idx int NOT NULL, hotfix_id text, description text, installed_on date) ON COMMIT DELETE ROWS;
  CREATE INDEX IF NOT EXISTS stage_patches_idx ON pg_temp.stage_patches (idx, hotfix_id);
  CREATE TEMP TABLE IF NOT EXISTS stage_patch_apply (
    idx int NOT NULL, tenant_id uuid NOT NULL, device_id uuid NOT NULL, at timestamptz NOT NULL)
    ON COMMIT DELETE ROWS;
  CREATE TEMP TABLE IF NOT EXISTS stage_software_ops (
    device_id uuid NOT NULL, software_id bigint NOT NULL, version text NOT NULL,
    moved boolean NOT NULL, install_date date, install_location text, source text)
    ON COMMIT DELETE ROWS;
  CREATE TEMP TABLE IF NOT EXISTS stage_software_devices (
    tenant_id uuid NOT NULL, device_id uuid NOT NULL, rev bigint NOT NULL,
    reported_at timestamptz NOT NULL) ON COMMIT DELETE ROWS;

  -- The windows the caller routes the fetch's events by. Dropping or
  -- creating a partition locks its parent, so these locks (the ones the
  -- caller's COPYs take anyway) keep the windows as read here until COMMIT.
  -- Every partitioned table this transaction writes, in name order, as
  -- tally_maintain_partitions() goes: the two cannot deadlock.
  LOCK TABLE ONLY device_metrics, file_events, inventory_reports, network_events,
    process_events, software_changes IN ROW EXCLUSIVE MODE;
  RETURN QUERY
  SELECT w.event_table, (extract(epoch FROM w.lower_bound) * 1000000)::bigint,
         (extract(epoch FROM w.upper_bound) * 1000000)::bigint
    FROM tally_event_windows(ARRAY['process_events', 'network_events', 'file_events',
                                   'device_metrics']) w;
END
$$;

GRANT EXECUTE ON FUNCTION tally_event_windows(text[]) TO tally_ingest;
