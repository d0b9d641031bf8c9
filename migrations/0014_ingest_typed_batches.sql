-- A fetch's batch rows are staged with typed columns, in COPY's binary
-- format, instead of with the device object as jsonb.
--
-- On bench/drain.sh (100,000 batches, one ingest worker, pg_stat_statements)
-- COPY stage_batches cost 2.1 s of PostgreSQL's 24 s: each row's device
-- object (about 600 bytes of JSON) was parsed into jsonb, then taken apart
-- again by jsonb_to_record() for the device upsert. Ingest has the object
-- parsed already; it now sends each device column as its type's binary form
-- (ingest/store.c), and PostgreSQL parses only the disks (still jsonb).
--
-- Only the temporary staging table and the view over it change; the
-- functions that read them (0013) read the same column names. An ingest
-- binary from before this migration, in a new session, fails its fetches
-- (COPY names a column that is gone; they wait in JetStream) until it is
-- replaced: migrate, then roll ingest.
CREATE OR REPLACE FUNCTION tally_ingest_prepare() RETURNS void
  LANGUAGE plpgsql SET client_min_messages = warning
AS $$
BEGIN
  CREATE TEMP TABLE IF NOT EXISTS stage_batches (
    idx int NOT NULL, tenant_id uuid NOT NULL, agent_id uuid NOT NULL, batch_id uuid NOT NULL,
    received_at timestamptz NOT NULL, sent_at timestamptz, agent_version text, request_id text,
    body_bytes int NOT NULL, software_count int, patch_count int,
    process_event_count int NOT NULL, network_event_count int NOT NULL,
    file_event_count int NOT NULL, metric_count int NOT NULL,
    -- The device object's members, as devices has them.
    hostname text, domain text, os_name text, os_version text, os_build text, arch text,
    serial text, manufacturer text, model text, cpu_model text, cpu_cores int,
    memory_bytes bigint, disks jsonb, ip_addresses text[], mac_addresses text[],
    boot_time timestamptz, logged_in_users text[])
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
    s.agent_version, s.hostname, s.domain, s.os_name, s.os_version, s.os_build, s.arch,
    s.serial, s.manufacturer, s.model, s.cpu_model, s.cpu_cores, s.memory_bytes,
    coalesce(s.disks, '[]') AS disks, coalesce(s.ip_addresses, '{}') AS ip_addresses,
    coalesce(s.mac_addresses, '{}') AS mac_addresses, s.boot_time,
    coalesce(s.logged_in_users, '{}') AS logged_in_users, s.received_at AS first_seen,
    s.received_at AS last_seen, s.received_at AS last_inventory_at
    FROM stage_fresh f JOIN stage_batches s USING (idx)
   ORDER BY f.tenant_id, s.agent_id, s.received_at DESC, s.idx DESC;
END
$$;
