-- Software lists are compared in ingest, not in PostgreSQL.
--
-- On bench/drain.sh (100,000 batches, pg_stat_statements) the software path
-- of tally_ingest_apply() was the largest part of ingest's cost beyond a raw
-- COPY: every full list staged (a million rows, 95 % unchanged), compared
-- with the device's set in one statement per round (7 s), the new rows
-- inserted from the staging table (5 s). Now ingest keeps the sets it wrote
-- in memory and compares there (ingest/softset.h); PostgreSQL gets only what
-- differs: the rows that go and the rows whose attributes change, staged and
-- applied by tally_ingest_software(), and the rows that come and the change
-- events, COPYed straight into device_software and software_changes.
--
-- * devices.software_rev counts the lists applied to a device's set. Ingest
--   trusts its copy of a set only when it was made at the revision the
--   device row holds (tally_ingest_batches() reads it), and otherwise reads
--   the set from device_software. Every writer of device_software advances
--   the revision (tally_ingest_devices(), once the device row is locked,
--   checking that it is still the one the set was compared at).
-- * tally_ingest_apply() is split in two calls without its software part:
--   tally_ingest_batches() (ledger, device ids, report rows; for each
--   device with a software list among the fetch's new batches, its revision
--   and when its set was last reported), then, after the caller's software
--   rows and COPYs of events and metrics, tally_ingest_devices() (device
--   rows, patch sets, software revisions). Device rows are thus updated, and
--   locked, only at the end of the transaction: two workers whose fetches
--   share devices waited for each other's whole transaction (a tenth of the
--   two cores stood idle in bench/drain.sh, more with larger fetches). A
--   device new to Tally gets an id derived from tenant and agent (md5), so
--   that its rows can be written before its device row exists, and two
--   workers that both see it first agree on it. The old name is dropped: an
--   ingest binary from before this migration fails its fetches (they wait
--   in JetStream) instead of storing lists nobody compares.
-- * tally_ingest_round() served software and patches; it is now
--   tally_ingest_patch_round().
-- * device_software's key is (device_id, software_id, version), which
--   replaces both the old key (tenant_id first) and device_software_by_device
--   (0012): device ids are unique across tenants. A row ingest deletes or
--   updates is found by it, and a device's set read by it; with the tenant
--   in the condition the planner could take device_software_by_version
--   (tenant, program) instead when its statistics lag behind the table (a
--   bulk load, a new tenant), and read every device's row of the program:
--   150 rows per row deleted in bench/drain.sh, 7 s of its 33. One index
--   fewer to maintain, too.
ALTER TABLE devices ADD COLUMN software_rev bigint NOT NULL DEFAULT 0;

ALTER TABLE device_software DROP CONSTRAINT device_software_pkey;
DROP INDEX device_software_by_device;
ALTER TABLE device_software ADD PRIMARY KEY (device_id, software_id, version);

DROP FUNCTION tally_ingest_apply();
DROP FUNCTION tally_ingest_round(uuid, int, boolean);

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
  CREATE TEMP TABLE IF NOT EXISTS stage_patches (
    idx int NOT NULL, hotfix_id text, description text, installed_on date) ON COMMIT DELETE ROWS;
  -- The batches new to the ledger with their devices; one patch list per
  -- device at a time.
  CREATE TEMP TABLE IF NOT EXISTS stage_fresh (
    idx int NOT NULL, tenant_id uuid NOT NULL, agent_id uuid NOT NULL, device_id uuid)
    ON COMMIT DELETE ROWS;
  CREATE TEMP TABLE IF NOT EXISTS stage_patch_round (
    idx int NOT NULL, device_id uuid NOT NULL, at timestamptz NOT NULL) ON COMMIT DELETE ROWS;
  -- What ingest's comparison found: rows of device_software that go, or
  -- whose attributes change (moved); each device's new revision.
  CREATE TEMP TABLE IF NOT EXISTS stage_software_ops (
    device_id uuid NOT NULL, software_id bigint NOT NULL, version text NOT NULL,
    moved boolean NOT NULL, install_date date, install_location text, source text)
    ON COMMIT DELETE ROWS;
  CREATE TEMP TABLE IF NOT EXISTS stage_software_devices (
    tenant_id uuid NOT NULL, device_id uuid NOT NULL, rev bigint NOT NULL,
    reported_at timestamptz NOT NULL) ON COMMIT DELETE ROWS;
  -- Each new batch's device with the facts of its newest batch of the
  -- fetch (the columns of devices that ingest writes, in their order).
  IF to_regclass('pg_temp.stage_device_facts') IS NOT NULL THEN
    RETURN;
  END IF;
  CREATE TEMP VIEW stage_device_facts AS
  SELECT DISTINCT ON (f.tenant_id, s.agent_id) f.device_id, f.tenant_id, s.agent_id,
    s.agent_version,
    r.hostname, r.domain, r.os_name, r.os_version, r.os_build, r.arch, r.serial, r.manufacturer,
    r.model, r.cpu_model, r.cpu_cores, r.memory_bytes, coalesce(r.disks, '[]') AS disks,
    coalesce(r.ip_addresses, '{}') AS ip_addresses,
    coalesce(r.mac_addresses, '{}') AS mac_addresses, r.boot_time,
    coalesce(r.logged_in_users, '{}') AS logged_in_users, s.received_at AS first_seen,
    s.received_at AS last_seen, s.received_at AS last_inventory_at
    FROM stage_fresh f JOIN stage_batches s USING (idx),
         jsonb_to_record(s.device) AS r(hostname text, domain text, os_name text,
           os_version text, os_build text, arch text, serial text, manufacturer text,
           model text, cpu_model text, cpu_cores int, memory_bytes bigint, disks jsonb,
           ip_addresses text[], mac_addresses text[], boot_time timestamptz,
           logged_in_users text[])
   ORDER BY f.tenant_id, s.agent_id, s.received_at DESC, s.idx DESC;
END
$$;

CREATE FUNCTION tally_ingest_patch_round(t uuid, k int) RETURNS boolean
  LANGUAGE plpgsql
AS $$
BEGIN
  DELETE FROM stage_patch_round;
  INSERT INTO stage_patch_round (idx, device_id, at)
  SELECT idx, device_id, received_at FROM (
    SELECT b.idx, f.device_id, b.received_at, d.patches_reported_at AS prev,
           row_number() OVER (PARTITION BY f.device_id ORDER BY b.received_at, b.idx) AS r
      FROM stage_fresh f JOIN stage_batches b USING (idx)
      JOIN devices d ON d.tenant_id = t AND d.id = f.device_id
     WHERE f.tenant_id = t AND b.patch_count IS NOT NULL) x
   WHERE r = k AND coalesce(prev, '-infinity') <= received_at;
  IF FOUND THEN
    -- Its true size (tens of rows, not the thousand the planner assumes
    -- of a table never analysed), or the round reads device_patches by a
    -- sequential scan instead of by each device's key.
    ANALYZE pg_temp.stage_patch_round;
    RETURN true;
  END IF;
  RETURN EXISTS (
    SELECT 1 FROM stage_fresh f JOIN stage_batches b USING (idx)
     WHERE f.tenant_id = t AND b.patch_count IS NOT NULL
     GROUP BY f.device_id HAVING count(*) > k);
END
$$;

-- A fetch is applied in two calls with the caller's work between them, so
-- that device rows are locked (updated) only in the transaction's last
-- steps: another worker whose fetch has batches of the same devices waits
-- for those alone, not for this one's events and software rows too.
--
-- tally_ingest_batches(): the ledger, the device ids, the report rows.
-- Answers {"stored": [[idx, device id], ...] (the batches new to the
-- ledger), "windows": {event table: [from, to) in µs since the epoch, or
-- null}, "software": [[device id, software_rev, software_reported_at in µs
-- or null], ...] (each device with a software list among the stored
-- batches, as committed now: the caller compares its lists with that
-- revision of its set), "rows": {table: rows written}}.
CREATE FUNCTION tally_ingest_batches() RETURNS jsonb
  LANGUAGE plpgsql
AS $$
DECLARE
  t uuid;
  n bigint;
  windows jsonb;
  counts jsonb := '{}';
BEGIN
  -- Fresh statistics, or the planner takes every staging table for empty
  -- and joins them by nested loops; of the join keys only.
  ANALYZE pg_temp.stage_batches (idx, tenant_id), pg_temp.stage_patches (idx);
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

    -- The device ids: a device's row, or for a device new to Tally the id
    -- its row will have, derived from tenant and agent, so that two workers
    -- that both see it first agree on it without waiting for each other.
    -- tally_ingest_devices() inserts the row.
    UPDATE stage_fresh f SET device_id = d.id FROM devices d
     WHERE f.tenant_id = t AND d.tenant_id = t AND d.agent_id = f.agent_id;
    UPDATE stage_fresh SET device_id = md5(tenant_id::text || '/' || agent_id::text)::uuid
     WHERE tenant_id = t AND device_id IS NULL;
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
  END LOOP;

  RETURN jsonb_build_object(
    'stored', (SELECT coalesce(jsonb_agg(jsonb_build_array(idx, device_id) ORDER BY idx), '[]')
                 FROM stage_fresh),
    'windows', windows,
    'software', (SELECT coalesce(jsonb_agg(jsonb_build_array(l.device_id,
                          coalesce(d.software_rev, 0),
                          (extract(epoch FROM d.software_reported_at) * 1000000)::bigint)), '[]')
                   FROM (SELECT DISTINCT f.tenant_id, f.device_id FROM stage_fresh f
                           JOIN stage_batches b USING (idx)
                          WHERE b.software_count IS NOT NULL) l
                   LEFT JOIN devices d ON d.tenant_id = l.tenant_id AND d.id = l.device_id),
    'rows', counts);
END
$$;

-- tally_ingest_devices(), the second call: device rows (each device's
-- facts from its newest batch of the fetch, unless a newer report was
-- applied; a device new to Tally inserted), patch sets, and the revisions
-- of the software sets the caller changed (tally_ingest_software()), which
-- must still be those it compared with. Answers {"rows": {table: rows
-- written}}.
CREATE FUNCTION tally_ingest_devices() RETURNS jsonb
  LANGUAGE plpgsql
AS $$
DECLARE
  t uuid;
  n bigint;
  want bigint;
  k int;
  counts jsonb := '{}';
BEGIN
  FOR t IN SELECT DISTINCT tenant_id FROM stage_fresh ORDER BY 1 LOOP
    PERFORM set_config('app.tenant_id', t::text, true);

    -- In agent order: concurrent workers lock device rows in one order and
    -- cannot deadlock.
    INSERT INTO devices AS d (id, tenant_id, agent_id, agent_version, hostname, domain, os_name,
      os_version, os_build, arch, serial, manufacturer, model, cpu_model, cpu_cores, memory_bytes,
      disks, ip_addresses, mac_addresses, boot_time, logged_in_users, first_seen, last_seen,
      last_inventory_at)
    SELECT * FROM stage_device_facts f WHERE f.tenant_id = t ORDER BY f.agent_id
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

    -- Patches: a list replaces the set unless an applied one is newer
    -- (patches_reported_at), one round per list of a device, in receive order.
    CONTINUE WHEN NOT EXISTS (SELECT 1 FROM stage_batches
                               WHERE tenant_id = t AND patch_count IS NOT NULL);
    k := 1;
    LOOP
      EXIT WHEN NOT tally_ingest_patch_round(t, k);

      DELETE FROM device_patches dp USING stage_patch_round r
       WHERE dp.tenant_id = t AND dp.device_id = r.device_id
         AND NOT EXISTS (SELECT 1 FROM stage_patches p WHERE p.idx = r.idx
                           AND p.hotfix_id = dp.hotfix_id);
      INSERT INTO device_patches AS dp (tenant_id, device_id, hotfix_id, description,
        installed_on, first_seen)
      SELECT DISTINCT ON (r.device_id, p.hotfix_id) t, r.device_id, p.hotfix_id, p.description,
             p.installed_on, r.at
        FROM stage_patch_round r JOIN stage_patches p USING (idx)
       ORDER BY r.device_id, p.hotfix_id
      ON CONFLICT (tenant_id, device_id, hotfix_id) DO UPDATE
        SET description = EXCLUDED.description, installed_on = EXCLUDED.installed_on
        WHERE (dp.description, dp.installed_on)
              IS DISTINCT FROM (EXCLUDED.description, EXCLUDED.installed_on);
      GET DIAGNOSTICS n = ROW_COUNT;
      counts := tally_count(counts, 'device_patches', n);

      UPDATE devices d SET patches_reported_at = r.at FROM stage_patch_round r
       WHERE d.tenant_id = t AND d.id = r.device_id;
      k := k + 1;
    END LOOP;
  END LOOP;

  -- The software sets ingest changed: each was compared at the revision
  -- tally_ingest_batches() read (without a lock); now that the device row
  -- is locked, it must still be that one.
  SELECT count(*) INTO want FROM stage_software_devices;
  UPDATE devices d SET software_rev = s.rev + 1, software_reported_at = s.reported_at
    FROM stage_software_devices s
   WHERE d.tenant_id = s.tenant_id AND d.id = s.device_id AND d.software_rev = s.rev;
  GET DIAGNOSTICS n = ROW_COUNT;
  IF n <> want THEN
    RAISE EXCEPTION 'software sets of % devices were compared at revisions they no longer have',
      want - n USING ERRCODE = 'TLY01';
  END IF;

  RETURN jsonb_build_object('rows', counts);
END
$$;

-- Applies what ingest's comparison staged: deletes the rows that go and
-- updates the moved ones (the caller then COPYs the rows that come and the
-- change events; tally_ingest_devices() advances the revisions). Every
-- catalog id of the fetch's lists, (tenants[i], ids[i]), must be its
-- tenant's (ingest caches them; device_software has no foreign key, 0008).
-- A missing id, or a count that differs from what was staged (ingest's copy
-- of a set was not the set, or another worker changed it meanwhile), is
-- SQLSTATE TLY01, upon which ingest drops its caches and retries. The rows
-- are found by device_software's key, one by one (the only index that has
-- device_id), whatever the statistics of the table say (after a TRUNCATE or
-- a bulk load they may put it at no rows, and a join that reads it whole
-- once per staged row costs nothing then), never by reading all of it; no
-- JIT compilation, which the cost of a disabled plan would trigger.
CREATE FUNCTION tally_ingest_software(tenants uuid[], ids bigint[]) RETURNS void
  LANGUAGE plpgsql SET enable_seqscan = off SET enable_hashjoin = off
  SET enable_mergejoin = off SET jit = off
AS $$
DECLARE
  want bigint;
  deleted bigint;
  updated bigint;
BEGIN
  IF EXISTS (SELECT 1 FROM unnest(tenants, ids) AS s(tenant_id, id)
              WHERE NOT EXISTS (SELECT 1 FROM software_catalog c
                                 WHERE c.tenant_id = s.tenant_id AND c.id = s.id)) THEN
    RAISE EXCEPTION 'a software id ingest compared is not in its tenant''s catalog'
      USING ERRCODE = 'TLY01';
  END IF;

  DELETE FROM device_software ds USING stage_software_ops o
   WHERE NOT o.moved AND ds.device_id = o.device_id AND ds.software_id = o.software_id
     AND ds.version = o.version;
  GET DIAGNOSTICS deleted = ROW_COUNT;
  UPDATE device_software ds SET install_date = o.install_date,
         install_location = o.install_location, source = o.source
    FROM stage_software_ops o
   WHERE o.moved AND ds.device_id = o.device_id AND ds.software_id = o.software_id
     AND ds.version = o.version;
  GET DIAGNOSTICS updated = ROW_COUNT;
  SELECT count(*) INTO want FROM stage_software_ops;
  IF deleted + updated <> want THEN
    RAISE EXCEPTION 'ingest meant to delete or update % software rows, % were there', want,
      deleted + updated USING ERRCODE = 'TLY01';
  END IF;
END
$$;

-- The software sets of devices, for ingest to compare lists with when it
-- has no copy at the device's revision; ordered by device. Read by the key
-- whatever the statistics say (and not worth a JIT compilation, which the
-- cost of a disabled plan would trigger).
CREATE FUNCTION tally_ingest_software_sets(ids uuid[])
  RETURNS TABLE (device_id uuid, software_id bigint, version text, install_date text,
                 install_location text, source text)
  LANGUAGE sql STABLE SET enable_seqscan = off SET jit = off
AS $$
  SELECT ds.device_id, ds.software_id, ds.version, to_char(ds.install_date, 'YYYY-MM-DD'),
         ds.install_location, ds.source
    FROM device_software ds
   WHERE ds.device_id = ANY (ids)
   ORDER BY ds.device_id
$$;

GRANT EXECUTE ON FUNCTION tally_ingest_patch_round(uuid, int), tally_ingest_batches(),
  tally_ingest_devices(), tally_ingest_software(uuid[], bigint[]), tally_ingest_software_sets(uuid[]) TO tally_ingest;
