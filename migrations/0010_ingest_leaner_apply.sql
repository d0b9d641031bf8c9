-- Ingest writes each row once, and cheaper bookkeeping around it; measured
-- on bench/drain.sh (pg_stat_statements and perf; bench/README.md):
--
-- * ingest connects as tally_ingest, a role of its own with BYPASSRLS, and
--   COPYs events and metrics straight into their partitioned tables: COPY
--   FROM is refused on a table with row-level security, so each of those
--   rows used to be written twice (a staging COPY, then INSERT ... SELECT).
--   RLS was no wall for ingest anyway: it set app.tenant_id from the
--   message subject, the same value it now writes into tenant_id. serve
--   keeps tally_app, under RLS.
-- * tally_ingest_apply() analyses only the staging columns its joins use.
--   A full ANALYZE sorted a sample of every text column (paths, command
--   lines, program names) of every staging table on every fetch: 17 % of
--   PostgreSQL's CPU during a drain.
-- * Ingest stages software catalog ids, not names: it keeps the ids in a
--   cache and adds new names through tally_catalog_ids() in a statement of
--   its own (workers waited on each other's open transaction for them).
-- * A software list is compared with the set it replaces in one pass, and
--   only what differs is written to a work table (the old and the new sets
--   were each copied into one before); device_software is read per device
--   by its key (it was read by a sequential scan).
-- * Each event table has its own window (retentions differ per table), and
--   maintenance leaves no gap in it.
-- * devices are rewritten by every report: with room left in each page,
--   the update stays on the page and skips the indexes (HOT). Fill factor
--   70 took HOT updates from 46 % to 86 % of them.
ALTER TABLE devices SET (fillfactor = 70);

DO $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'tally_ingest') THEN
    RAISE EXCEPTION 'role tally_ingest must exist before migrating (see deploy/local/pg-bootstrap.sql)';
  END IF;
END
$$;
GRANT USAGE ON SCHEMA public TO tally_ingest;
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO tally_ingest;
GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO tally_ingest;
ALTER DEFAULT PRIVILEGES GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO tally_ingest;
ALTER DEFAULT PRIVILEGES GRANT USAGE, SELECT ON SEQUENCES TO tally_ingest;
GRANT EXECUTE ON FUNCTION tally_tenant(), tally_dead_letter(uuid, text, bigint, text, text, bytea),
  tally_version_key(text), tally_maintain_partitions(int, int), tally_prune_ledger(int, int),
  tally_count(jsonb, text, bigint), tally_ingest_prepare(), tally_ingest_round(uuid, int, boolean),
  tally_ingest_apply() TO tally_ingest;
-- serve (tally_app) calls none of these (it keeps tally_tenant and tally_version_key).
REVOKE EXECUTE ON FUNCTION tally_dead_letter(uuid, text, bigint, text, text, bytea),
  tally_maintain_partitions(int, int), tally_prune_ledger(int, int),
  tally_count(jsonb, text, bigint), tally_ingest_prepare(), tally_ingest_round(uuid, int, boolean),
  tally_ingest_apply() FROM tally_app;

-- Partition maintenance as in 0007, and it fills gaps: a day between the
-- oldest partition and today that has none gets one. Such a gap (maintenance
-- stopped for a few days) sat inside the window, and a row dated in it was
-- refused by PostgreSQL and dead-lettered.
CREATE OR REPLACE FUNCTION tally_maintain_partitions(days_ahead int, default_retention_days int)
  RETURNS SETOF text
  LANGUAGE plpgsql SECURITY DEFINER SET search_path = public
AS $$
DECLARE
  t record;
  part record;
  today date := (now() AT TIME ZONE 'UTC')::date;
  d date;
  first_day date;
  pname text;
BEGIN
  PERFORM pg_advisory_xact_lock(hashtext('tally_maintain_partitions'));
  FOR t IN SELECT parent_table, coalesce(retention_days, default_retention_days) AS keep
             FROM tally_partitioned_tables ORDER BY parent_table LOOP
    -- From the oldest partition it keeps (or yesterday), so that days
    -- missed while maintenance was not running leave no gap.
    SELECT least(today - 1, min(day) FILTER (WHERE day >= today - t.keep)) INTO first_day
      FROM (SELECT to_date(right(c.relname, 8), 'YYYYMMDD') AS day
              FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
             WHERE i.inhparent = t.parent_table::regclass) p;
    FOR d IN SELECT generate_series(first_day, today + days_ahead, interval '1 day')::date LOOP
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

-- The range one event table's partitions cover right now: [lower, upper).
-- Tables have retentions of their own (tally admin set-retention), so each
-- has its own window; maintenance keeps each gap-free.
CREATE FUNCTION tally_event_window(parent text, OUT lower_bound timestamptz,
                                   OUT upper_bound timestamptz)
  LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public
AS $$
  SELECT min(to_date(right(c.relname, 8), 'YYYYMMDD'))::timestamp AT TIME ZONE 'UTC',
         (max(to_date(right(c.relname, 8), 'YYYYMMDD')) + 1)::timestamp AT TIME ZONE 'UTC'
    FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
   WHERE i.inhparent = parent::regclass
$$;
GRANT EXECUTE ON FUNCTION tally_event_window(text) TO tally_ingest;
DROP FUNCTION tally_event_window();

-- The staging tables of 0008 without the event tables (ingest COPYs events
-- straight into their own), and one work table for the software diff.
CREATE OR REPLACE FUNCTION tally_ingest_prepare() RETURNS void
  LANGUAGE plpgsql SET client_min_messages = warning
AS $$
BEGIN
  CREATE TEMP TABLE IF NOT EXISTS stage_batches (
    idx int NOT NULL, tenant_id uuid NOT NULL, agent_id uuid NOT NULL, batch_id uuid NOT NULL,
    received_at timestamptz NOT NULL, sent_at timestamptz, agent_version text, request_id text,
    body_bytes int NOT NULL, software_count int, patch_count int,
    process_event_count int NOT NULL, network_event_count int NOT NULL,
    file_event_count int NOT NULL, metric_count int NOT NULL, device jsonb NOT NULL,
    fresh boolean NOT NULL DEFAULT false, device_id uuid) ON COMMIT DELETE ROWS;
  CREATE TEMP TABLE IF NOT EXISTS stage_software (
    idx int NOT NULL, software_id bigint NOT NULL, version text NOT NULL,
    version_key int[] NOT NULL, install_date date, install_location text, source text)
    ON COMMIT DELETE ROWS;
  CREATE TEMP TABLE IF NOT EXISTS stage_patches (
    idx int NOT NULL, hotfix_id text, description text, installed_on date) ON COMMIT DELETE ROWS;
  -- Work tables of apply: one software or patch list per device at a time,
  -- and what differs between a software list and the set it replaces.
  CREATE TEMP TABLE IF NOT EXISTS stage_round (
    idx int NOT NULL, device_id uuid NOT NULL, at timestamptz NOT NULL, baseline boolean NOT NULL)
    ON COMMIT DELETE ROWS;
  CREATE TEMP TABLE IF NOT EXISTS stage_software_diff (
    device_id uuid NOT NULL, software_id bigint NOT NULL, went_v text, came_v text,
    version_key int[], install_date date, install_location text, source text,
    in_old bigint NOT NULL, in_new bigint NOT NULL) ON COMMIT DELETE ROWS;
END
$$;

-- Fills stage_round with round k of tenant t's software lists (or patch
-- lists): the k-th list of each device in this fetch, in receive order, if
-- it is not older than the set it would replace. False when no device has a
-- k-th list (the rounds are over).
CREATE OR REPLACE FUNCTION tally_ingest_round(t uuid, k int, patches boolean) RETURNS boolean
  LANGUAGE plpgsql
AS $$
BEGIN
  DELETE FROM stage_round;
  INSERT INTO stage_round (idx, device_id, at, baseline)
  SELECT idx, device_id, received_at, prev IS NULL FROM (
    SELECT b.idx, b.device_id, b.received_at,
           CASE WHEN patches THEN d.patches_reported_at ELSE d.software_reported_at END AS prev,
           row_number() OVER (PARTITION BY b.device_id ORDER BY b.received_at, b.idx) AS r
      FROM stage_batches b JOIN devices d ON d.tenant_id = t AND d.id = b.device_id
     WHERE b.tenant_id = t AND b.fresh
       AND CASE WHEN patches THEN b.patch_count ELSE b.software_count END IS NOT NULL) x
   WHERE r = k AND coalesce(prev, '-infinity') <= received_at;
  IF FOUND THEN
    -- Its true size (tens of rows, not the thousand the planner assumes
    -- of a table never analysed), or the round reads device_software by a
    -- sequential scan instead of by each device's key.
    ANALYZE pg_temp.stage_round;
    RETURN true;
  END IF;
  RETURN EXISTS (
    SELECT 1 FROM stage_batches
     WHERE tenant_id = t AND fresh
       AND CASE WHEN patches THEN patch_count ELSE software_count END IS NOT NULL
     GROUP BY device_id HAVING count(*) > k);
END
$$;

-- Ingest's catalog lookup, for names its cache lacks: adds the missing
-- entries of tenant t (entries: [[name, publisher], ...], distinct, trimmed)
-- and answers every entry's id, and whether this call created it. Called
-- on its own, outside the fetch's transaction, so a new name is committed
-- at once and concurrent workers do not wait on each other's transaction.
CREATE FUNCTION tally_catalog_ids(t uuid, entries jsonb)
  RETURNS TABLE (name text, publisher text, id bigint, created boolean)
  LANGUAGE plpgsql
AS $$
DECLARE
  new_ids bigint[];
BEGIN
  PERFORM set_config('app.tenant_id', t::text, true);
  WITH ins AS (
    INSERT INTO software_catalog AS c (tenant_id, name, publisher)
    SELECT t, e ->> 0, e ->> 1 FROM jsonb_array_elements(entries) e
     ORDER BY (e ->> 0) COLLATE "C", (e ->> 1) COLLATE "C" -- concurrent callers, same order
    ON CONFLICT ON CONSTRAINT software_catalog_tenant_id_name_publisher_key DO NOTHING
    RETURNING c.id)
  SELECT coalesce(array_agg(ins.id), '{}') INTO new_ids FROM ins;
  RETURN QUERY
    SELECT c.name, c.publisher, c.id, c.id = ANY (new_ids)
      FROM jsonb_array_elements(entries) e
      JOIN software_catalog c ON c.tenant_id = t AND c.name = e ->> 0 AND c.publisher = e ->> 1;
END
$$;
GRANT EXECUTE ON FUNCTION tally_catalog_ids(uuid, jsonb) TO tally_ingest;

-- Applies the staged fetch; returns
--   {"stored": [[idx, device id] of each batch written now],
--    "windows": {event table: [from, to) in µs since the epoch, or null},
--    "rows": {table: rows written}}.
-- The caller then COPYs the stored batches' events and metrics straight
-- into their tables (rows outside a table's window into
-- out_of_window_events), in the same transaction. A batch whose ledger
-- entry exists is a duplicate and writes nothing. Per tenant, in this order
-- (rows locked in key order, so concurrent workers cannot deadlock):
--   ledger; device facts (the newest batch per agent; an older one never
--   overwrites newer facts); report rows; software and patch sets, one list
--   per device at a time in receive order, each applied only if not older
--   than the set it replaces (docs/architecture.md).
CREATE OR REPLACE FUNCTION tally_ingest_apply() RETURNS jsonb
  LANGUAGE plpgsql
AS $$
DECLARE
  t uuid;
  n bigint;
  k int;
  windows jsonb;
  counts jsonb := '{}';
BEGIN
  -- Fresh statistics, or the planner takes every staging table for empty
  -- and joins them by nested loops; of the join keys only (see above).
  ANALYZE pg_temp.stage_batches (idx, tenant_id), pg_temp.stage_software (idx),
    pg_temp.stage_patches (idx);
  -- The windows the caller routes the fetch's events by. Dropping or
  -- creating a partition locks its parent, so these locks (the ones the
  -- caller's COPY takes anyway) keep the windows as read here until COMMIT.
  -- Every partitioned table this transaction writes, in name order, as
  -- tally_maintain_partitions() goes: the two cannot deadlock.
  LOCK TABLE ONLY device_metrics, file_events, inventory_reports, network_events,
    process_events, software_changes IN ROW EXCLUSIVE MODE;
  SELECT jsonb_object_agg(tbl, CASE WHEN w.lower_bound IS NOT NULL THEN jsonb_build_array(
           (extract(epoch FROM w.lower_bound) * 1000000)::bigint,
           (extract(epoch FROM w.upper_bound) * 1000000)::bigint) END)
    INTO windows
    FROM unnest(ARRAY['process_events', 'network_events', 'file_events', 'device_metrics']) tbl,
         tally_event_window(tbl) w;

  FOR t IN SELECT DISTINCT tenant_id FROM stage_batches ORDER BY 1 LOOP
    PERFORM set_config('app.tenant_id', t::text, true);

    WITH ins AS (
      INSERT INTO ingested_batches (tenant_id, agent_id, batch_id)
      SELECT tenant_id, agent_id, batch_id FROM stage_batches WHERE tenant_id = t
       ORDER BY agent_id, batch_id
      ON CONFLICT DO NOTHING RETURNING agent_id, batch_id)
    UPDATE stage_batches s SET fresh = true FROM ins
     WHERE s.tenant_id = t AND s.agent_id = ins.agent_id AND s.batch_id = ins.batch_id;
    GET DIAGNOSTICS n = ROW_COUNT;
    CONTINUE WHEN n = 0;
    counts := tally_count(counts, 'ingested_batches', n);

    INSERT INTO devices AS d (tenant_id, agent_id, agent_version, hostname, domain, os_name,
      os_version, os_build, arch, serial, manufacturer, model, cpu_model, cpu_cores, memory_bytes,
      disks, ip_addresses, mac_addresses, boot_time, logged_in_users, first_seen, last_seen,
      last_inventory_at)
    SELECT DISTINCT ON (s.agent_id) t, s.agent_id, s.agent_version, r.hostname, r.domain,
      r.os_name, r.os_version, r.os_build, r.arch, r.serial, r.manufacturer, r.model, r.cpu_model,
      r.cpu_cores, r.memory_bytes, coalesce(r.disks, '[]'), coalesce(r.ip_addresses, '{}'),
      coalesce(r.mac_addresses, '{}'), r.boot_time, coalesce(r.logged_in_users, '{}'),
      s.received_at, s.received_at, s.received_at
      FROM stage_batches s,
           jsonb_to_record(s.device) AS r(hostname text, domain text, os_name text,
             os_version text, os_build text, arch text, serial text, manufacturer text,
             model text, cpu_model text, cpu_cores int, memory_bytes bigint, disks jsonb,
             ip_addresses text[], mac_addresses text[], boot_time timestamptz,
             logged_in_users text[])
     WHERE s.tenant_id = t AND s.fresh
     ORDER BY s.agent_id, s.received_at DESC, s.idx DESC
    ON CONFLICT (tenant_id, agent_id) DO UPDATE SET agent_version = EXCLUDED.agent_version,
      hostname = EXCLUDED.hostname, domain = EXCLUDED.domain, os_name = EXCLUDED.os_name,
      os_version = EXCLUDED.os_version, os_build = EXCLUDED.os_build, arch = EXCLUDED.arch,
      serial = EXCLUDED.serial, manufacturer = EXCLUDED.manufacturer, model = EXCLUDED.model,
      cpu_model = EXCLUDED.cpu_model, cpu_cores = EXCLUDED.cpu_cores,
      memory_bytes = EXCLUDED.memory_bytes, disks = EXCLUDED.disks,
      ip_addresses = EXCLUDED.ip_addresses, mac_addresses = EXCLUDED.mac_addresses,
      boot_time = EXCLUDED.boot_time, logged_in_users = EXCLUDED.logged_in_users,
      last_seen = EXCLUDED.last_seen, last_inventory_at = EXCLUDED.last_inventory_at
     WHERE d.last_inventory_at <= EXCLUDED.last_inventory_at;
    GET DIAGNOSTICS n = ROW_COUNT;
    counts := tally_count(counts, 'devices', n);

    UPDATE stage_batches s SET device_id = d.id FROM devices d
     WHERE s.tenant_id = t AND s.fresh AND d.tenant_id = t AND d.agent_id = s.agent_id;

    INSERT INTO inventory_reports (tenant_id, received_at, device_id, batch_id, sent_at,
      agent_version, request_id, body_bytes, software_count, patch_count, process_event_count,
      network_event_count, file_event_count, metric_count)
    SELECT t, received_at, device_id, batch_id, sent_at, agent_version, request_id, body_bytes,
      coalesce(software_count, 0), coalesce(patch_count, 0), process_event_count,
      network_event_count, file_event_count, metric_count
      FROM stage_batches WHERE tenant_id = t AND fresh;
    GET DIAGNOSTICS n = ROW_COUNT;
    counts := tally_count(counts, 'inventory_reports', n);

    -- Software: ingest staged catalog ids (tally_catalog_ids, from a cache
    -- of its own); each must be this tenant's.
    IF EXISTS (SELECT 1 FROM (SELECT DISTINCT w.software_id FROM stage_software w
                                JOIN stage_batches b USING (idx)
                               WHERE b.tenant_id = t AND b.fresh) s
                WHERE NOT EXISTS (SELECT 1 FROM software_catalog c
                                   WHERE c.tenant_id = t AND c.id = s.software_id)) THEN
      RAISE EXCEPTION 'a staged software id is not in the catalog of tenant %', t
        USING ERRCODE = 'TLY01';
    END IF;

    k := 1;
    LOOP
      EXIT WHEN NOT tally_ingest_round(t, k, false);

      -- The round's lists against the sets they replace, in one pass: every
      -- (device, program, version) of either side, with how many versions of
      -- the program each side has; only the rows that differ are kept.
      -- device_software is read per device, by its key: OFFSET 0 keeps the
      -- planner from flattening the lateral subquery into a hash join over a
      -- sequential scan of the tenant's whole table.
      DELETE FROM stage_software_diff;
      INSERT INTO stage_software_diff
      WITH new AS ( -- ingest lists each (program, version) once
        SELECT r.device_id, w.software_id, w.version, w.version_key, w.install_date,
               w.install_location, w.source
          FROM stage_round r JOIN stage_software w USING (idx)),
      old AS (
        SELECT r.device_id, o.software_id, o.version, o.install_date, o.install_location, o.source
          FROM stage_round r CROSS JOIN LATERAL (
            SELECT software_id, version, install_date, install_location, source
              FROM device_software ds
             WHERE ds.tenant_id = t AND ds.device_id = r.device_id OFFSET 0) o
         WHERE NOT r.baseline),
      j AS (
        SELECT device_id, software_id, o.version AS went_v, n.version AS came_v, n.version_key,
               n.install_date, n.install_location, n.source,
               (o.install_date, o.install_location, o.source)
                 IS DISTINCT FROM (n.install_date, n.install_location, n.source) AS moved,
               count(o.version) OVER w AS in_old, count(n.version) OVER w AS in_new
          FROM old o FULL JOIN new n USING (device_id, software_id, version)
        WINDOW w AS (PARTITION BY device_id, software_id))
      SELECT device_id, software_id, went_v, came_v, version_key, install_date,
             install_location, source, in_old, in_new
        FROM j WHERE went_v IS NULL OR came_v IS NULL OR moved;
      -- Its true size, and fresh plans for the statements below (a plan
      -- cached while the table was small rescans it per device when a
      -- round replaces whole lists).
      ANALYZE pg_temp.stage_software_diff (device_id);

      -- A program with no old version was installed, one with no new version
      -- uninstalled; otherwise the versions that went and came, if any.
      INSERT INTO software_changes (tenant_id, device_id, ts, software_id, change, old_version,
        new_version)
      WITH d AS (SELECT * FROM stage_software_diff WHERE went_v IS NULL OR came_v IS NULL),
      changes AS (
        SELECT device_id, software_id, 'installed' AS change, NULL AS old_version,
               came_v AS new_version
          FROM d WHERE in_old = 0
        UNION ALL
        SELECT device_id, software_id, 'uninstalled', went_v, NULL FROM d WHERE in_new = 0
        UNION ALL
        SELECT device_id, software_id, 'version_changed',
               string_agg(went_v, ', ' ORDER BY went_v) FILTER (WHERE came_v IS NULL),
               string_agg(came_v, ', ' ORDER BY came_v) FILTER (WHERE went_v IS NULL)
          FROM d WHERE in_old > 0 AND in_new > 0
         GROUP BY device_id, software_id)
      SELECT t, c.device_id, r.at, c.software_id, c.change, c.old_version, c.new_version
        FROM changes c JOIN stage_round r USING (device_id)
       WHERE NOT r.baseline;
      GET DIAGNOSTICS n = ROW_COUNT;
      counts := tally_count(counts, 'software_changes', n);

      DELETE FROM device_software ds USING stage_software_diff d
       WHERE d.came_v IS NULL AND ds.tenant_id = t AND ds.device_id = d.device_id
         AND ds.software_id = d.software_id AND ds.version = d.went_v;
      UPDATE device_software ds SET install_date = d.install_date,
             install_location = d.install_location, source = d.source
        FROM stage_software_diff d
       WHERE d.went_v IS NOT NULL AND d.came_v IS NOT NULL AND ds.tenant_id = t
         AND ds.device_id = d.device_id AND ds.software_id = d.software_id
         AND ds.version = d.came_v;
      INSERT INTO device_software (tenant_id, device_id, software_id, version, version_key,
        install_date, install_location, source, first_seen)
      SELECT t, d.device_id, d.software_id, d.came_v, d.version_key, d.install_date,
             d.install_location, d.source, r.at
        FROM stage_software_diff d JOIN stage_round r USING (device_id)
       WHERE d.went_v IS NULL;
      GET DIAGNOSTICS n = ROW_COUNT;
      counts := tally_count(counts, 'device_software', n);

      UPDATE devices d SET software_reported_at = r.at FROM stage_round r
       WHERE d.tenant_id = t AND d.id = r.device_id;
      k := k + 1;
    END LOOP;

    -- Patches: the same replace-and-gate rule, without a baseline or changes.
    k := 1;
    LOOP
      EXIT WHEN NOT tally_ingest_round(t, k, true);

      DELETE FROM device_patches dp USING stage_round r
       WHERE dp.tenant_id = t AND dp.device_id = r.device_id
         AND NOT EXISTS (SELECT 1 FROM stage_patches p WHERE p.idx = r.idx
                           AND p.hotfix_id = dp.hotfix_id);
      INSERT INTO device_patches AS dp (tenant_id, device_id, hotfix_id, description,
        installed_on, first_seen)
      SELECT DISTINCT ON (r.device_id, p.hotfix_id) t, r.device_id, p.hotfix_id, p.description,
             p.installed_on, r.at
        FROM stage_round r JOIN stage_patches p USING (idx)
       ORDER BY r.device_id, p.hotfix_id
      ON CONFLICT (tenant_id, device_id, hotfix_id) DO UPDATE
        SET description = EXCLUDED.description, installed_on = EXCLUDED.installed_on
        WHERE (dp.description, dp.installed_on)
              IS DISTINCT FROM (EXCLUDED.description, EXCLUDED.installed_on);
      GET DIAGNOSTICS n = ROW_COUNT;
      counts := tally_count(counts, 'device_patches', n);

      UPDATE devices d SET patches_reported_at = r.at FROM stage_round r
       WHERE d.tenant_id = t AND d.id = r.device_id;
      k := k + 1;
    END LOOP;
  END LOOP;

  RETURN jsonb_build_object(
    'stored', (SELECT coalesce(jsonb_agg(jsonb_build_array(idx, device_id) ORDER BY idx), '[]')
                 FROM stage_batches WHERE fresh),
    'windows', windows,
    'rows', counts);
END
$$;
