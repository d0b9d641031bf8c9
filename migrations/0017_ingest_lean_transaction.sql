-- A fetch's transaction without staged batch rows: ingest sends the ledger
-- keys as arrays, COPYs the report rows into inventory_reports and one row
-- of facts per device into stage_devices, and knows its devices' ids.
--
-- On bench/drain.sh (100,000 batches, one worker, pg_stat_statements)
-- tally_ingest_batches() and the COPY into stage_batches cost 4.6 s of
-- PostgreSQL's 18.9 s, against 1.1 s for COPYing the same ledger and report
-- rows raw: every batch was staged with its device's facts, the fresh
-- batches joined back to it, their device ids looked up by two UPDATEs,
-- the report rows INSERTed from the join, each fetch's answer built as
-- jsonb, and the staging tables ANALYZEd three times a fetch so that the
-- planner would not take them for empty. Now:
--
-- * tally_ingest_begin() replaces tally_ingest_prepare(): the staging
--   tables, the partition locks, and the event tables' windows as rows.
-- * tally_ingest_ledger(tenants, agents, batches) enters a fetch's batches
--   into the ledger and answers the positions (1-based) of those new to it.
-- * tally_ingest_device_rows(tenants, agents) answers each device's id (a
--   device new to Tally: derived from tenant and agent, as since 0013), its
--   software revision and when its set was last reported. Ingest keeps the
--   ids (a device's id never changes; only ingest writes devices) and asks
--   for the devices it has not seen and those whose software lists it
--   compares.
-- * inventory_reports rows are COPYed by ingest.
-- * tally_ingest_devices() upserts devices from stage_devices (one row per
--   device: the facts of its newest batch of the fetch, chosen by ingest) by
--   the primary key (tenant_id, id). An id ingest holds that is not the
--   device's (the device is there under another id) violates
--   devices_tenant_id_agent_id_key: ingest clears its caches and retries.
--   Patch lists come in stage_patch_lists with their round (a device's
--   lists in receive order, numbered by ingest from 1); the statements find
--   the rows they touch by key whatever the statistics (no ANALYZE).
--
-- Ingest's joins of the staging tables to the tables that grow
-- (device_software, devices, device_patches) drive from the staged rows and
-- probe the grown table by key, whatever the statistics say. The functions
-- already turned off sequential scans and hash and merge joins; two kinds of
-- plan were left, and the planner takes them when it believes a grown table
-- holds a row or so: statistics taken while it was empty (a new deployment,
-- every row deleted), or a plan made then and kept (PL/pgSQL keeps a
-- statement's plan for the life of the connection until an ANALYZE of a
-- table it reads, and an ingest connection lives for days).
--
-- * The grown table read whole through an index as the outer side of a
--   nested loop, the staged rows rescanned for each of its rows: the DELETE
--   of 2,000 staged rows from a copy of device_software, planned when it was
--   empty and run again at 200,000 rows, took 53 s (and one drain of many
--   took 126 s instead of 25 s, 118 s of it PostgreSQL's CPU). Plain and
--   index-only scans are now off too (tally_ingest_software() and
--   tally_ingest_devices()): a probe by key is a bitmap scan, and reading
--   the grown table whole would be a second disabled scan, which no
--   estimate makes cheaper.
-- * A device probed through an index that matches its tenant alone
--   (devices_hostname, or the agent key), every device of the tenant
--   filtered for the one wanted. Devices are probed by id alone, through a
--   unique index of their own, devices_id (ids are unique across tenants),
--   the only index that fits.
--
-- integration.stale_plans empties and analyses the tables, calls the
-- functions, grows the tables back under the same connection and checks
-- each join's plan. What it shows is left: believing device_software or
-- device_patches empty, the planner may still probe them through another
-- index that holds one of the key's columns (device_software_by_version by
-- the program), reading that program's rows per staged row.
--
-- The old functions are dropped: an ingest binary from before this
-- migration fails its fetches (they wait in JetStream) until it is
-- replaced: migrate, then roll ingest.
DROP FUNCTION tally_ingest_batches();
DROP FUNCTION tally_ingest_devices();
DROP FUNCTION tally_ingest_patch_round(uuid, int);
DROP FUNCTION tally_ingest_prepare();

CREATE UNIQUE INDEX devices_id ON devices (id);
ALTER FUNCTION tally_ingest_software(uuid[], bigint[])
  SET enable_indexscan = off SET enable_indexonlyscan = off;

CREATE FUNCTION tally_ingest_begin()
  RETURNS TABLE (event_table text, lower_us bigint, upper_us bigint)
  LANGUAGE plpgsql SET client_min_messages = warning
AS $$
BEGIN
  -- The facts of each device of the fetch's new batches, from its newest
  -- one (devices' columns that ingest writes, in their order, NULL where
  -- the batch leaves a member out; seen is the batch's receive time).
  CREATE TEMP TABLE IF NOT EXISTS stage_devices (
    id uuid NOT NULL, tenant_id uuid NOT NULL, agent_id uuid NOT NULL, agent_version text,
    hostname text, domain text, os_name text, os_version text, os_build text, arch text,
    serial text, manufacturer text, model text, cpu_model text, cpu_cores int,
    memory_bytes bigint, disks jsonb, ip_addresses text[], mac_addresses text[],
    boot_time timestamptz, logged_in_users text[], seen timestamptz NOT NULL)
    ON COMMIT DELETE ROWS;
  -- The patch lists of the new batches (idx: the batch's position in the
  -- fetch) and their items.
  CREATE TEMP TABLE IF NOT EXISTS stage_patch_lists (
    idx int NOT NULL, tenant_id uuid NOT NULL, device_id uuid NOT NULL, at timestamptz NOT NULL,
    round int NOT NULL) ON COMMIT DELETE ROWS;
  CREATE TEMP TABLE IF NOT EXISTS stage_patches (
    idx int NOT NULL, hotfix_id text, description text, installed_on date) ON COMMIT DELETE ROWS;
  CREATE INDEX IF NOT EXISTS stage_patches_idx ON pg_temp.stage_patches (idx, hotfix_id);
  -- The lists of a round that apply (no newer list was applied).
  CREATE TEMP TABLE IF NOT EXISTS stage_patch_apply (
    idx int NOT NULL, tenant_id uuid NOT NULL, device_id uuid NOT NULL, at timestamptz NOT NULL)
    ON COMMIT DELETE ROWS;
  -- What ingest's comparison found: rows of device_software that go, or
  -- whose attributes change (moved); each device's new revision.
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
  SELECT tbl, (extract(epoch FROM w.lower_bound) * 1000000)::bigint,
         (extract(epoch FROM w.upper_bound) * 1000000)::bigint
    FROM unnest(ARRAY['process_events', 'network_events', 'file_events', 'device_metrics']) tbl,
         tally_event_window(tbl) w;
END
$$;

-- Enters (tenants[i], agents[i], batches[i]) into the ledger; answers the
-- positions i of those it did not hold. Concurrent callers with the same
-- batch: one enters it, the other waits for its transaction and then not.
CREATE FUNCTION tally_ingest_ledger(tenants uuid[], agents uuid[], batches uuid[])
  RETURNS SETOF int
  LANGUAGE sql
AS $$
  WITH ins AS (
    INSERT INTO ingested_batches (tenant_id, agent_id, batch_id)
    SELECT * FROM unnest(tenants, agents, batches) ORDER BY 1, 2, 3
    ON CONFLICT DO NOTHING RETURNING tenant_id, agent_id, batch_id)
  SELECT k.i::int
    FROM unnest(tenants, agents, batches) WITH ORDINALITY AS k(tenant_id, agent_id, batch_id, i)
    JOIN ins USING (tenant_id, agent_id, batch_id)
$$;

-- For each (tenants[i], agents[i]): i, the device's id (a device new to
-- Tally: the id its row will have, derived from tenant and agent, so that
-- two workers that both see it first agree on it), its software revision
-- and when its set was last reported (µs since the epoch; null: never), as
-- committed now.
CREATE FUNCTION tally_ingest_device_rows(tenants uuid[], agents uuid[])
  RETURNS TABLE (i int, device_id uuid, software_rev bigint, software_reported_us bigint)
  LANGUAGE sql STABLE
AS $$
  SELECT k.i::int, coalesce(d.id, md5(k.tenant_id::text || '/' || k.agent_id::text)::uuid),
         coalesce(d.software_rev, 0),
         (extract(epoch FROM d.software_reported_at) * 1000000)::bigint
    FROM unnest(tenants, agents) WITH ORDINALITY AS k(tenant_id, agent_id, i)
    LEFT JOIN devices d ON d.tenant_id = k.tenant_id AND d.agent_id = k.agent_id
$$;

-- The fetch's last call: device rows (each device's facts from its newest
-- batch of the fetch, unless a newer report was applied; a device new to
-- Tally inserted), patch sets, and the revisions of the software sets the
-- caller changed (tally_ingest_software()), which must still be those it
-- compared with. Answers {"rows": {table: rows written}}. Every join drives
-- from the staged rows and probes the grown table by key, whatever the
-- statistics say (see the top of this file); devices by id alone.
CREATE FUNCTION tally_ingest_devices() RETURNS jsonb
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

GRANT EXECUTE ON FUNCTION tally_ingest_begin(), tally_ingest_ledger(uuid[], uuid[], uuid[]),
  tally_ingest_device_rows(uuid[], uuid[]), tally_ingest_devices() TO tally_ingest;
