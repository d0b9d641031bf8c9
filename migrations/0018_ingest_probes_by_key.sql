-- Ingest's probes of device_software, device_patches, devices and
-- software_catalog go through their keys whatever the statistics say.
--
-- 0017 left one plan open (see its top): believing device_software or
-- device_patches empty, the planner may probe it through an index that
-- holds only one column of the join (a B-tree can be searched by a column
-- that does not lead it, by reading the whole index, which costs nothing
-- for a table believed empty). A table is believed empty when ANALYZE ran
-- while its rows were not yet committed (autovacuum during a fetch's
-- transaction after a TRUNCATE or a new deployment): its statistics then
-- say no rows in however many pages it has, until the next ANALYZE, and
-- the plan holds for as long. Redraining one 100,000-batch stream, it
-- happened in 2 runs of 29, on every ingest connection at once:
--
-- * the DELETE from device_software probed device_software_by_version by
--   software_id alone, reading every device's row of the program for each
--   staged row: 57 s instead of 0.4 s for one drain's deletes;
-- * the DELETE from device_patches probed device_patches_hotfix by tenant
--   alone: 7.8 s instead of 0.1 s;
-- * the drain took 34-38 s instead of 14-16 s, PostgreSQL 54-60 s of CPU
--   instead of 17-19 s.
--
-- Now no other index can serve the probes, so the settings of 0017 (no
-- sequential or plain index scans, no hash or merge joins) leave one plan:
--
-- * device_software is matched to the staged rows by comparing the rows
--   (device_id, software_id, version) with >= and <=, which only an index
--   led by device_id can search, and only its key is; an equality of each
--   column would also fit device_software_by_version by software_id.
-- * device_patches' key becomes (device_id, hotfix_id), as device_software's
--   became (device_id, ...) in 0013 (device ids are unique across tenants,
--   devices_id): the DELETE probes by device_id, which device_patches_hotfix
--   (tenant_id, hotfix_id) does not hold. The set of a device stays found
--   by its id; the key's index is rebuilt (it locks device_patches while it
--   is).
-- * devices: its primary key becomes devices_id (id alone; ids are unique
--   across tenants since 0017), and (tenant_id, id) goes: a probe by id
--   could be served by (tenant_id, id) reading it whole. The agent key
--   (tenant_id, agent_id) is led by agent_id, and tally_ingest_device_rows()
--   compares (agent_id, tenant_id) as rows under the settings of 0017:
--   believing devices empty, it read a whole index of devices once per
--   device asked for (integration.stale_plans: a nested loop over the agent
--   key with no condition), and the tenant-led indexes (devices_hostname)
--   would fit an equality of the tenant. The key keeps its name, which
--   ingest knows (a stale cached device id violates it).
-- * software_catalog: keyed by id alone (an identity, unique across
--   tenants), its unique (tenant_id, name, publisher) led by name, and both
--   matched as rows: tally_catalog_ids() finds (name, publisher, tenant_id)
--   under the settings of 0017 (without them, believing the catalog empty,
--   a lookup could read the whole catalog or a tenant's, through the key or
--   software_catalog_lower_name, per program), and tally_ingest_software()
--   checks (id, tenant_id). The unique constraint keeps its name, which
--   tally_catalog_ids() names.

ALTER TABLE device_patches DROP CONSTRAINT device_patches_pkey,
  ADD PRIMARY KEY (device_id, hotfix_id);
ALTER TABLE devices DROP CONSTRAINT devices_pkey,
  ADD CONSTRAINT devices_pkey PRIMARY KEY USING INDEX devices_id,
  DROP CONSTRAINT devices_tenant_id_agent_id_key,
  ADD CONSTRAINT devices_tenant_id_agent_id_key UNIQUE (agent_id, tenant_id);
ALTER TABLE software_catalog DROP CONSTRAINT software_catalog_pkey, ADD PRIMARY KEY (id),
  DROP CONSTRAINT software_catalog_tenant_id_name_publisher_key,
  ADD CONSTRAINT software_catalog_tenant_id_name_publisher_key UNIQUE (name, publisher, tenant_id);

-- As in 0010, the catalog rows found by name (above).
CREATE OR REPLACE FUNCTION tally_catalog_ids(t uuid, entries jsonb)
  RETURNS TABLE (name text, publisher text, id bigint, created boolean)
  LANGUAGE plpgsql SET enable_seqscan = off SET enable_indexscan = off
  SET enable_indexonlyscan = off SET enable_hashjoin = off SET enable_mergejoin = off
  SET jit = off
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
      JOIN software_catalog c ON (c.name, c.publisher, c.tenant_id) >= (e ->> 0, e ->> 1, t)
                             AND (c.name, c.publisher, c.tenant_id) <= (e ->> 0, e ->> 1, t);
END
$$;

-- As in 0017, found by the agent key (above).
CREATE OR REPLACE FUNCTION tally_ingest_device_rows(tenants uuid[], agents uuid[])
  RETURNS TABLE (i int, device_id uuid, software_rev bigint, software_reported_us bigint)
  LANGUAGE sql STABLE SET enable_seqscan = off SET enable_indexscan = off
  SET enable_indexonlyscan = off SET enable_hashjoin = off SET enable_mergejoin = off
  SET jit = off
AS $$
  SELECT k.i::int, coalesce(d.id, md5(k.tenant_id::text || '/' || k.agent_id::text)::uuid),
         coalesce(d.software_rev, 0),
         (extract(epoch FROM d.software_reported_at) * 1000000)::bigint
    FROM unnest(tenants, agents) WITH ORDINALITY AS k(tenant_id, agent_id, i)
    LEFT JOIN devices d ON (d.agent_id, d.tenant_id) >= (k.agent_id, k.tenant_id)
                       AND (d.agent_id, d.tenant_id) <= (k.agent_id, k.tenant_id)
$$;

-- As in 0013 with the settings of 0017; the rows found by comparing rows
-- (above).
CREATE OR REPLACE FUNCTION tally_ingest_software(tenants uuid[], ids bigint[]) RETURNS void
  LANGUAGE plpgsql SET enable_seqscan = off SET enable_indexscan = off
  SET enable_indexonlyscan = off SET enable_hashjoin = off SET enable_mergejoin = off
  SET jit = off
AS $$
DECLARE
  want bigint;
  deleted bigint;
  updated bigint;
BEGIN
  IF EXISTS (SELECT 1 FROM unnest(tenants, ids) AS s(tenant_id, id)
              WHERE NOT EXISTS (SELECT 1 FROM software_catalog c
                                 WHERE (c.id, c.tenant_id) >= (s.id, s.tenant_id)
                                   AND (c.id, c.tenant_id) <= (s.id, s.tenant_id))) THEN
    RAISE EXCEPTION 'a software id ingest compared is not in its tenant''s catalog'
      USING ERRCODE = 'TLY01';
  END IF;

  DELETE FROM device_software ds USING stage_software_ops o
   WHERE NOT o.moved
     AND (ds.device_id, ds.software_id, ds.version) >= (o.device_id, o.software_id, o.version)
     AND (ds.device_id, ds.software_id, ds.version) <= (o.device_id, o.software_id, o.version);
  GET DIAGNOSTICS deleted = ROW_COUNT;
  UPDATE device_software ds SET install_date = o.install_date,
         install_location = o.install_location, source = o.source
    FROM stage_software_ops o
   WHERE o.moved
     AND (ds.device_id, ds.software_id, ds.version) >= (o.device_id, o.software_id, o.version)
     AND (ds.device_id, ds.software_id, ds.version) <= (o.device_id, o.software_id, o.version);
  GET DIAGNOSTICS updated = ROW_COUNT;
  SELECT count(*) INTO want FROM stage_software_ops;
  IF deleted + updated <> want THEN
    RAISE EXCEPTION 'ingest meant to delete or update % software rows, % were there', want,
      deleted + updated USING ERRCODE = 'TLY01';
  END IF;
END
$$;

-- As in 0017; devices and device_patches by their new keys.
CREATE OR REPLACE FUNCTION tally_ingest_devices() RETURNS jsonb
  LANGUAGE plpgsql SET enable_seqscan = off SET enable_indexscan = off
  SET enable_indexonlyscan = off SET enable_hashjoin = off SET enable_mergejoin = off
  SET jit = off
AS $$
DECLARE
  n bigint;
  want bigint;
  k int;
  rounds int;
  counts jsonb := '{}';
BEGIN
  -- In id order: concurrent workers lock device rows in one order and
  -- cannot deadlock.
  INSERT INTO devices AS d (id, tenant_id, agent_id, agent_version, hostname, domain, os_name,
    os_version, os_build, arch, serial, manufacturer, model, cpu_model, cpu_cores, memory_bytes,
    disks, ip_addresses, mac_addresses, boot_time, logged_in_users, first_seen, last_seen,
    last_inventory_at)
  SELECT id, tenant_id, agent_id, agent_version, hostname, domain, os_name, os_version, os_build,
         arch, serial, manufacturer, model, cpu_model, cpu_cores, memory_bytes,
         coalesce(disks, '[]'), coalesce(ip_addresses, '{}'), coalesce(mac_addresses, '{}'),
         boot_time, coalesce(logged_in_users, '{}'), seen, seen, seen
    FROM stage_devices ORDER BY id
  ON CONFLICT (id) DO UPDATE SET agent_version = EXCLUDED.agent_version,
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
  SELECT max(round) INTO rounds FROM stage_patch_lists;
  FOR k IN 1 .. coalesce(rounds, 0) LOOP
    DELETE FROM stage_patch_apply;
    INSERT INTO stage_patch_apply (idx, tenant_id, device_id, at)
    SELECT l.idx, l.tenant_id, l.device_id, l.at
      FROM stage_patch_lists l
      JOIN devices d ON d.id = l.device_id
     WHERE l.round = k AND coalesce(d.patches_reported_at, '-infinity') <= l.at;

    DELETE FROM device_patches dp USING stage_patch_apply r
     WHERE dp.device_id = r.device_id
       AND NOT EXISTS (SELECT 1 FROM stage_patches p WHERE p.idx = r.idx
                         AND p.hotfix_id = dp.hotfix_id);
    INSERT INTO device_patches AS dp (tenant_id, device_id, hotfix_id, description,
      installed_on, first_seen)
    SELECT DISTINCT ON (r.device_id, p.hotfix_id) r.tenant_id, r.device_id, p.hotfix_id,
           p.description, p.installed_on, r.at
      FROM stage_patch_apply r JOIN stage_patches p USING (idx)
     ORDER BY r.device_id, p.hotfix_id
    ON CONFLICT (device_id, hotfix_id) DO UPDATE
      SET description = EXCLUDED.description, installed_on = EXCLUDED.installed_on
      WHERE (dp.description, dp.installed_on)
            IS DISTINCT FROM (EXCLUDED.description, EXCLUDED.installed_on);
    GET DIAGNOSTICS n = ROW_COUNT;
    counts := tally_count(counts, 'device_patches', n);

    UPDATE devices d SET patches_reported_at = r.at FROM stage_patch_apply r
     WHERE d.id = r.device_id;
  END LOOP;

  -- The software sets ingest changed: each was compared at the revision
  -- tally_ingest_device_rows() read (without a lock); now that the device
  -- row is locked, it must still be that one.
  SELECT count(*) INTO want FROM stage_software_devices;
  UPDATE devices d SET software_rev = s.rev + 1, software_reported_at = s.reported_at
    FROM stage_software_devices s
   WHERE d.id = s.device_id AND d.software_rev = s.rev;
  GET DIAGNOSTICS n = ROW_COUNT;
  IF n <> want THEN
    RAISE EXCEPTION 'software sets of % devices were compared at revisions they no longer have',
      want - n USING ERRCODE = 'TLY01';
  END IF;

  RETURN jsonb_build_object('rows', counts);
END
$$;
