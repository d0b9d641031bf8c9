-- Time series from the batch's event and metric sections, partitioned by
-- the agent's own timestamp (ts), so per-device time-range reads touch the
-- days they ask for. Written by ingest with COPY through staging tables.
--
-- Window rule (docs/architecture.md): a row whose ts has no partition (agent
-- clock far off, or a backlog older than the oldest kept day) is not lost
-- and not forced into a wrong day: it goes to out_of_window_events as JSON,
-- with its kind and the time it was received, where operators can see it.
CREATE TABLE process_events (
  tenant_id  uuid NOT NULL,
  device_id  uuid NOT NULL,
  ts         timestamptz NOT NULL,
  op         text NOT NULL,
  pid        bigint NOT NULL,
  ppid       bigint,
  name       text,
  path       text,
  cmdline    text,
  user_name  text,
  sha256     text
) PARTITION BY RANGE (ts);

CREATE TABLE network_events (
  tenant_id    uuid NOT NULL,
  device_id    uuid NOT NULL,
  ts           timestamptz NOT NULL,
  protocol     text NOT NULL,
  local_ip     inet,
  local_port   int,
  remote_ip    inet,
  remote_port  int,
  state        text,
  pid          bigint,
  process_name text
) PARTITION BY RANGE (ts);

CREATE TABLE file_events (
  tenant_id  uuid NOT NULL,
  device_id  uuid NOT NULL,
  ts         timestamptz NOT NULL,
  op         text NOT NULL,
  path       text NOT NULL,
  old_path   text,
  size_bytes bigint,
  sha256     text,
  pid        bigint
) PARTITION BY RANGE (ts);

CREATE TABLE device_metrics (
  tenant_id      uuid NOT NULL,
  device_id      uuid NOT NULL,
  ts             timestamptz NOT NULL,
  cpu_pct        real,
  mem_used_bytes bigint,
  disk_used_pct  real,
  net_rx_bytes   bigint,
  net_tx_bytes   bigint
) PARTITION BY RANGE (ts);

CREATE TABLE out_of_window_events (
  tenant_id   uuid NOT NULL,
  device_id   uuid NOT NULL,
  kind        text NOT NULL,   -- the table it would have gone to
  ts          timestamptz NOT NULL,
  received_at timestamptz NOT NULL DEFAULT now(),
  row_data    jsonb NOT NULL
);
CREATE INDEX out_of_window_events_device ON out_of_window_events (tenant_id, device_id, ts);

DO $$
DECLARE
  t text;
BEGIN
  FOREACH t IN ARRAY ARRAY['process_events', 'network_events', 'file_events', 'device_metrics'] LOOP
    EXECUTE format('CREATE INDEX %I ON %I (tenant_id, device_id, ts)', t || '_device_ts', t);
    INSERT INTO tally_partitioned_tables (parent_table) VALUES (t);
  END LOOP;
  FOREACH t IN ARRAY ARRAY['process_events', 'network_events', 'file_events', 'device_metrics',
                           'out_of_window_events'] LOOP
    EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
    EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
    EXECUTE format('CREATE POLICY tenant_isolation ON %I USING (tenant_id = tally_tenant())', t);
  END LOOP;
END
$$;

-- The time range the event partitions cover right now: [lower, upper).
-- All four tables are maintained together, so process_events speaks for all.
CREATE FUNCTION tally_event_window(OUT lower_bound timestamptz, OUT upper_bound timestamptz)
  LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public
AS $$
  SELECT min(to_date(right(c.relname, 8), 'YYYYMMDD'))::timestamp AT TIME ZONE 'UTC',
         (max(to_date(right(c.relname, 8), 'YYYYMMDD')) + 1)::timestamp AT TIME ZONE 'UTC'
    FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
   WHERE i.inhparent = 'process_events'::regclass
$$;
GRANT EXECUTE ON FUNCTION tally_event_window() TO tally_app;
