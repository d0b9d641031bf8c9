-- tally_ingest_apply() as in 0010, with five changes, measured on
-- bench/drain.sh with 100,000 batches (pg_stat_statements with track = all,
-- auto_explain; bench/README.md):
--
-- * The batches new to the ledger and their device ids go into a narrow work
--   table, stage_fresh, instead of two UPDATEs of stage_batches, whose rows
--   carry the whole device object: each UPDATE wrote every row again.
-- * The old rows that go (or whose install date, location or source
--   changed) are deleted and updated by the row versions the comparison
--   read (their ctid), not by joining the work table with device_software
--   again. That join was planned from statistics that lag behind the table
--   (it gains 287,000 rows in a 35 s drain), and its plan changed from run
--   to run: reading 46,000 pages to update 50 rows, 5.5 s of the drain's
--   33 s in tally_ingest_apply(); in a fresh database the DELETE took 6.2 s
--   instead of 0.2 s; one drain took 90 s instead of 32-36 s.
-- * The work table is analysed on went_v and came_v as well, so the
--   statements after it are planned for its true mix of rows.
-- * A device's first software list (no set before it) is inserted as it is,
--   not passed through the comparison and the work table first.
--
-- * device_software gets an index on device_id, and the comparison reads a
--   device's set by it alone. With (tenant, device) the planner could also
--   take device_software_by_version, whose only usable column is the
--   tenant: when statistics put the tenant at one row (a tenant new since
--   the last ANALYZE; in make bench an autovacuum ANALYZE that ran during
--   phase g's one-transaction COPY and recorded 0 rows), it did, and read
--   the tenant's whole set once per device: 5-12 s per fetch, and ingest
--   stalled for 30 s and more (bench/README.md).
--
-- The work tables are new (stage_fresh; stage_software_delta, with
-- went_ctid): an ingest session started before this migration has the old
-- shapes, and tally_ingest_prepare() creates the new ones in it on its next
-- fetch (its stage_batches keeps two columns nothing reads any more).
CREATE INDEX device_software_by_device ON device_software (device_id);

CREATE OR REPLACE FUNCTION tally_ingest_prepare() RETURNS void
  LANGUAGE plpgsql SET client_min_messages = warning
AS $$
BEGIN
  CREATE TEMP TABLE IF NOT EXISTS stage_batches (
    idx int NOT NULL, tenant_id uuid NOT NULL, agent_id uuid NOT NULL, batch_id uuid NOT NULL,
    received_at timestamptz NOT NULL, sent_at timestamptz, agent_version text, request_id text,
    body_bytes int NOT NULL, software_count int, patch_count int,
    process_event_count int NOT NULL, network_event_count int NOT NULL,
    file_event_count int NOT NULL, metric_count int NOT NULL, device jsonb NOT NULL)
    ON COMMIT DELETE ROWS;
  CREATE TEMP TABLE IF NOT EXISTS stage_software (
    idx int NOT NULL, software_id bigint NOT NULL, version text NOT NULL,
    version_key int[] NOT NULL, install_date date, install_location text, source text)
    ON COMMIT DELETE ROWS;
  CREATE TEMP TABLE IF NOT EXISTS stage_patches (
    idx int NOT NULL, hotfix_id text, description text, installed_on date) ON COMMIT DELETE ROWS;
  -- Work tables of apply: the batches new to the ledger with their devices;
  -- one software or patch list per device at a time; what differs between a
  -- software list and the set it replaces.
  CREATE TEMP TABLE IF NOT EXISTS stage_fresh (
    idx int NOT NULL, tenant_id uuid NOT NULL, agent_id uuid NOT NULL, device_id uuid)
    ON COMMIT DELETE ROWS;
  CREATE TEMP TABLE IF NOT EXISTS stage_round (
    idx int NOT NULL, device_id uuid NOT NULL, at timestamptz NOT NULL, baseline boolean NOT NULL)
    ON COMMIT DELETE ROWS;
  CREATE TEMP TABLE IF NOT EXISTS stage_software_delta (
    device_id uuid NOT NULL, software_id bigint NOT NULL, went_ctid tid, went_v text,
    came_v text, version_key int[], install_date date, install_location text, source text,
    in_old bigint NOT NULL, in_new bigint NOT NULL) ON COMMIT DELETE ROWS;
END
$$;

CREATE OR REPLACE FUNCTION tally_ingest_round(t uuid, k int, patches boolean) RETURNS boolean
  LANGUAGE plpgsql
AS $$
BEGIN
  DELETE FROM stage_round;
  INSERT INTO stage_round (idx, device_id, at, baseline)
  SELECT idx, device_id, received_at, prev IS NULL FROM (
    SELECT b.idx, f.device_id, b.received_at,
           CASE WHEN patches THEN d.patches_reported_at ELSE d.software_reported_at END AS prev,
           row_number() OVER (PARTITION BY f.device_id ORDER BY b.received_at, b.idx) AS r
      FROM stage_fresh f JOIN stage_batches b USING (idx)
      JOIN devices d ON d.tenant_id = t AND d.id = f.device_id
     WHERE f.tenant_id = t
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
    SELECT 1 FROM stage_fresh f JOIN stage_batches b USING (idx)
     WHERE f.tenant_id = t
       AND CASE WHEN patches THEN b.patch_count ELSE b.software_count END IS NOT NULL
     GROUP BY f.device_id HAVING count(*) > k);
END
$$;

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
    INSERT INTO stage_fresh (idx, tenant_id, agent_id)
    SELECT s.idx, t, s.agent_id FROM stage_batches s JOIN ins USING (agent_id, batch_id)
     WHERE s.tenant_id = t;
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
      FROM stage_fresh f JOIN stage_batches s USING (idx),
           jsonb_to_record(s.device) AS r(hostname text, domain text, os_name text,
             os_version text, os_build text, arch text, serial text, manufacturer text,
             model text, cpu_model text, cpu_cores int, memory_bytes bigint, disks jsonb,
             ip_addresses text[], mac_addresses text[], boot_time timestamptz,
             logged_in_users text[])
     WHERE f.tenant_id = t
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

    UPDATE stage_fresh f SET device_id = d.id FROM devices d
     WHERE f.tenant_id = t AND d.tenant_id = t AND d.agent_id = f.agent_id;
    -- With its device ids: the statements below join devices by them.
    ANALYZE pg_temp.stage_fresh;

    INSERT INTO inventory_reports (tenant_id, received_at, device_id, batch_id, sent_at,
      agent_version, request_id, body_bytes, software_count, patch_count, process_event_count,
      network_event_count, file_event_count, metric_count)
    SELECT t, s.received_at, f.device_id, s.batch_id, s.sent_at, s.agent_version, s.request_id,
      s.body_bytes, coalesce(s.software_count, 0), coalesce(s.patch_count, 0),
      s.process_event_count, s.network_event_count, s.file_event_count, s.metric_count
      FROM stage_fresh f JOIN stage_batches s USING (idx) WHERE f.tenant_id = t;
    GET DIAGNOSTICS n = ROW_COUNT;
    counts := tally_count(counts, 'inventory_reports', n);

    -- Software: ingest staged catalog ids (tally_catalog_ids, from a cache
    -- of its own); each must be this tenant's.
    IF EXISTS (SELECT 1 FROM (SELECT DISTINCT w.software_id FROM stage_software w
                                JOIN stage_fresh f USING (idx)
                               WHERE f.tenant_id = t) s
                WHERE NOT EXISTS (SELECT 1 FROM software_catalog c
                                   WHERE c.tenant_id = t AND c.id = s.software_id)) THEN
      RAISE EXCEPTION 'a staged software id is not in the catalog of tenant %', t
        USING ERRCODE = 'TLY01';
    END IF;

    k := 1;
    LOOP
      EXIT WHEN NOT tally_ingest_round(t, k, false);

      -- A device's first list has no set before it: installed as it is.
      INSERT INTO device_software (tenant_id, device_id, software_id, version, version_key,
        install_date, install_location, source, first_seen)
      SELECT t, r.device_id, w.software_id, w.version, w.version_key, w.install_date,
             w.install_location, w.source, r.at
        FROM stage_round r JOIN stage_software w USING (idx)
       WHERE r.baseline;
      GET DIAGNOSTICS n = ROW_COUNT;
      counts := tally_count(counts, 'device_software', n);

      -- The round's lists against the sets they replace, in one pass: every
      -- (device, program, version) of either side, with how many versions of
      -- the program each side has; only the rows that differ are kept, with
      -- where the old row is (went_ctid). device_software is read per device,
      -- by device_software_by_device: OFFSET 0 keeps the planner from
      -- flattening the lateral subquery into a hash join over a sequential
      -- scan of the tenant's whole table, and the device id alone (unique
      -- across tenants) leaves it no index but that one (see the header).
      DELETE FROM stage_software_delta;
      INSERT INTO stage_software_delta (device_id, software_id, went_ctid, went_v, came_v,
        version_key, install_date, install_location, source, in_old, in_new)
      WITH new AS ( -- ingest lists each (program, version) once
        SELECT r.device_id, w.software_id, w.version, w.version_key, w.install_date,
               w.install_location, w.source
          FROM stage_round r JOIN stage_software w USING (idx)
         WHERE NOT r.baseline),
      old AS (
        SELECT r.device_id, o.row_ctid, o.software_id, o.version, o.install_date,
               o.install_location, o.source
          FROM stage_round r CROSS JOIN LATERAL (
            SELECT ctid AS row_ctid, software_id, version, install_date, install_location, source
              FROM device_software ds
             WHERE ds.device_id = r.device_id OFFSET 0) o
         WHERE NOT r.baseline),
      j AS (
        SELECT device_id, software_id, o.row_ctid, o.version AS went_v, n.version AS came_v,
               n.version_key,
               n.install_date, n.install_location, n.source,
               (o.install_date, o.install_location, o.source)
                 IS DISTINCT FROM (n.install_date, n.install_location, n.source) AS moved,
               count(o.version) OVER w AS in_old, count(n.version) OVER w AS in_new
          FROM old o FULL JOIN new n USING (device_id, software_id, version)
        WINDOW w AS (PARTITION BY device_id, software_id))
      SELECT device_id, software_id, row_ctid, went_v, came_v, version_key, install_date,
             install_location, source, in_old, in_new
        FROM j WHERE went_v IS NULL OR came_v IS NULL OR moved;
      -- Its true size, and fresh plans for the statements below.
      ANALYZE pg_temp.stage_software_delta (device_id, went_v, came_v);

      -- A program with no old version was installed, one with no new version
      -- uninstalled; otherwise the versions that went and came, if any.
      INSERT INTO software_changes (tenant_id, device_id, ts, software_id, change, old_version,
        new_version)
      WITH d AS (SELECT * FROM stage_software_delta WHERE went_v IS NULL OR came_v IS NULL),
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

      -- The old rows that go, or whose attributes change, by the row versions
      -- the comparison read: no join of the work table with device_software
      -- for the planner to get wrong.
      DELETE FROM device_software
       WHERE ctid = ANY (ARRAY(SELECT went_ctid FROM stage_software_delta WHERE came_v IS NULL));
      UPDATE device_software ds SET install_date = d.install_date,
             install_location = d.install_location, source = d.source
        FROM stage_software_delta d
       WHERE d.went_v IS NOT NULL AND d.came_v IS NOT NULL AND ds.ctid = d.went_ctid;
      INSERT INTO device_software (tenant_id, device_id, software_id, version, version_key,
        install_date, install_location, source, first_seen)
      SELECT t, d.device_id, d.software_id, d.came_v, d.version_key, d.install_date,
             d.install_location, d.source, r.at
        FROM stage_software_delta d JOIN stage_round r USING (device_id)
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
                 FROM stage_fresh),
    'windows', windows,
    'rows', counts);
END
$$;
