-- A device is (tenant, agent id). Hardware and OS facts are the latest
-- reported; first/last seen are server times.
CREATE TABLE devices (
  tenant_id         uuid NOT NULL REFERENCES tenants (id),
  id                uuid NOT NULL DEFAULT gen_random_uuid(),
  agent_id          uuid NOT NULL,
  agent_version     text,
  hostname          text NOT NULL,
  domain            text,
  os_name           text,
  os_version        text,
  os_build          text,
  arch              text,
  serial            text,
  manufacturer      text,
  model             text,
  cpu_model         text,
  cpu_cores         int,
  memory_bytes      bigint,
  disks             jsonb NOT NULL DEFAULT '[]',
  ip_addresses      text[] NOT NULL DEFAULT '{}',
  mac_addresses     text[] NOT NULL DEFAULT '{}',
  boot_time         timestamptz,
  logged_in_users   text[] NOT NULL DEFAULT '{}',
  first_seen        timestamptz NOT NULL,
  last_seen         timestamptz NOT NULL,
  last_inventory_at timestamptz NOT NULL,
  PRIMARY KEY (tenant_id, id),
  UNIQUE (tenant_id, agent_id)
);
CREATE INDEX devices_hostname ON devices (tenant_id, lower(hostname));
ALTER TABLE devices ENABLE ROW LEVEL SECURITY;
ALTER TABLE devices FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON devices USING (tenant_id = tally_tenant());

-- One row per ingested batch, partitioned by the server's receive time.
CREATE TABLE inventory_reports (
  tenant_id           uuid NOT NULL,
  received_at         timestamptz NOT NULL,
  device_id           uuid NOT NULL,
  batch_id            uuid NOT NULL,
  sent_at             timestamptz,
  agent_version       text,
  request_id          text,
  body_bytes          int NOT NULL,
  software_count      int NOT NULL,
  patch_count         int NOT NULL,
  process_event_count int NOT NULL,
  network_event_count int NOT NULL,
  file_event_count    int NOT NULL,
  metric_count        int NOT NULL
) PARTITION BY RANGE (received_at);
CREATE INDEX inventory_reports_device ON inventory_reports (tenant_id, device_id, received_at);
ALTER TABLE inventory_reports ENABLE ROW LEVEL SECURITY;
ALTER TABLE inventory_reports FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON inventory_reports USING (tenant_id = tally_tenant());
INSERT INTO tally_partitioned_tables (parent_table) VALUES ('inventory_reports');

-- Idempotency ledger: a batch (tenant, agent, batch id) is written once,
-- whatever JetStream's dedup window and however often it is redelivered.
CREATE TABLE ingested_batches (
  tenant_id   uuid NOT NULL,
  agent_id    uuid NOT NULL,
  batch_id    uuid NOT NULL,
  ingested_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, agent_id, batch_id)
);
ALTER TABLE ingested_batches ENABLE ROW LEVEL SECURITY;
ALTER TABLE ingested_batches FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON ingested_batches USING (tenant_id = tally_tenant());
