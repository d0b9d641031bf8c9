-- Installed software and patches: the current set per device, replaced
-- whenever a batch carries the section, with software differences recorded
-- as change events. Names and publishers are normalised (trimmed) into a
-- per-tenant catalog so fleet-wide questions ("which devices run Chrome
-- below 120?") are index lookups: version_key holds a version's numeric
-- components for ordering (131.0.6778.86 -> {131,0,6778,86}).
CREATE TABLE software_catalog (
  tenant_id uuid NOT NULL REFERENCES tenants (id),
  id        bigint GENERATED ALWAYS AS IDENTITY,
  name      text NOT NULL,
  publisher text NOT NULL DEFAULT '',
  PRIMARY KEY (tenant_id, id),
  UNIQUE (tenant_id, name, publisher)
);
CREATE INDEX software_catalog_lower_name ON software_catalog (tenant_id, lower(name));

-- The numeric components of a version string, each capped at 9 digits.
CREATE FUNCTION tally_version_key(v text) RETURNS int[]
  LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
  SELECT coalesce(array_agg(left(m[1], 9)::int ORDER BY ord), '{}')
    FROM regexp_matches(coalesce(v, ''), '[0-9]+', 'g') WITH ORDINALITY AS t(m, ord)
$$;
GRANT EXECUTE ON FUNCTION tally_version_key(text) TO tally_app;

CREATE TABLE device_software (
  tenant_id        uuid NOT NULL,
  device_id        uuid NOT NULL,
  software_id      bigint NOT NULL,
  version          text NOT NULL DEFAULT '',
  version_key      int[] NOT NULL,
  install_date     date,
  install_location text,
  source           text,
  first_seen       timestamptz NOT NULL,
  last_seen        timestamptz NOT NULL,
  PRIMARY KEY (tenant_id, device_id, software_id, version),
  FOREIGN KEY (tenant_id, device_id) REFERENCES devices (tenant_id, id),
  FOREIGN KEY (tenant_id, software_id) REFERENCES software_catalog (tenant_id, id)
);
CREATE INDEX device_software_by_version ON device_software (tenant_id, software_id, version_key);

CREATE TABLE software_changes (
  tenant_id   uuid NOT NULL,
  device_id   uuid NOT NULL,
  ts          timestamptz NOT NULL,  -- when the report that showed it was received
  software_id bigint NOT NULL,
  change      text NOT NULL CHECK (change IN ('installed', 'uninstalled', 'version_changed')),
  old_version text,
  new_version text
) PARTITION BY RANGE (ts);
CREATE INDEX software_changes_device_ts ON software_changes (tenant_id, device_id, ts);
INSERT INTO tally_partitioned_tables (parent_table) VALUES ('software_changes');

CREATE TABLE device_patches (
  tenant_id    uuid NOT NULL,
  device_id    uuid NOT NULL,
  hotfix_id    text NOT NULL,
  description  text,
  installed_on date,
  first_seen   timestamptz NOT NULL,
  last_seen    timestamptz NOT NULL,
  PRIMARY KEY (tenant_id, device_id, hotfix_id),
  FOREIGN KEY (tenant_id, device_id) REFERENCES devices (tenant_id, id)
);
CREATE INDEX device_patches_hotfix ON device_patches (tenant_id, hotfix_id);

-- When each section was last applied: an older report arriving late (a
-- redelivery, a store-and-forward backlog) never rolls the sets back, and a
-- device's first software list is a baseline, not a burst of "installed".
ALTER TABLE devices ADD COLUMN software_reported_at timestamptz;
ALTER TABLE devices ADD COLUMN patches_reported_at timestamptz;

DO $$
DECLARE
  t text;
BEGIN
  FOREACH t IN ARRAY ARRAY['software_catalog', 'device_software', 'software_changes',
                           'device_patches'] LOOP
    EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
    EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
    EXECUTE format('CREATE POLICY tenant_isolation ON %I USING (tenant_id = tally_tenant())', t);
  END LOOP;
END
$$;
