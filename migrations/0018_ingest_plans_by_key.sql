-- Ingest's joins of a fetch's staging tables to the tables that grow
-- (device_software, devices, device_patches) probe those tables by their
-- keys from the staged rows, whatever the statistics say.
--
-- The functions already turned off sequential scans and hash and merge
-- joins; two kinds of plan were left, and the planner takes them when it
-- believes a grown table holds a row or so: statistics taken while it was
-- empty (a new deployment, every row deleted), or a plan made then and kept
-- (PL/pgSQL keeps a statement's plan for the life of the connection until
-- an ANALYZE of a table it reads, and an ingest connection lives for days).
--
-- * The grown table read whole through an index as the outer side of a
--   nested loop, the staged rows rescanned for each of its rows: the DELETE
--   of 2,000 staged rows from a copy of device_software, planned when it was
--   empty and run again at 200,000 rows, took 53 s (and one drain of many
--   took 126 s instead of 25 s, 118 s of it PostgreSQL's CPU, before this was
--   understood). Plain and index-only scans are now off too: a probe by key
--   is a bitmap scan, and reading the grown table whole would be a second
--   disabled scan, which no estimate makes cheaper.
-- * A device probed through an index that matches its tenant alone
--   (devices_hostname, or the agent key), every device of the tenant
--   filtered for the one wanted. Devices are now probed by id alone,
--   through a unique index of their own (ids are unique across tenants:
--   derived from tenant and agent since 0013), the only index that fits.
--
-- integration.stale_plans empties and analyses the tables, calls the
-- functions, grows the tables back under the same connection and checks
-- each join's plan. What it shows is left: believing device_software or
-- device_patches empty, the planner may still probe them through another
-- index that holds one of the key's columns (device_software_by_version by
-- the program), reading that program's rows per staged row.
CREATE UNIQUE INDEX devices_id ON devices (id);

ALTER FUNCTION tally_ingest_software(uuid[], bigint[])
  SET enable_indexscan = off SET enable_indexonlyscan = off;

-- As in 0017, but with plain and index-only scans off and devices probed by
-- id alone.
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
  ON CONFLICT (tenant_id, id) DO UPDATE SET agent_version = EXCLUDED.agent_version,
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
     WHERE dp.tenant_id = r.tenant_id AND dp.device_id = r.device_id
       AND NOT EXISTS (SELECT 1 FROM stage_patches p WHERE p.idx = r.idx
                         AND p.hotfix_id = dp.hotfix_id);
    INSERT INTO device_patches AS dp (tenant_id, device_id, hotfix_id, description,
      installed_on, first_seen)
    SELECT DISTINCT ON (r.device_id, p.hotfix_id) r.tenant_id, r.device_id, p.hotfix_id,
           p.description, p.installed_on, r.at
      FROM stage_patch_apply r JOIN stage_patches p USING (idx)
     ORDER BY r.device_id, p.hotfix_id
    ON CONFLICT (tenant_id, device_id, hotfix_id) DO UPDATE
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
