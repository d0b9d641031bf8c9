#!/usr/bin/env bash
# The statements of ingest's functions that join a fetch's staging tables
# (or the keys it passes) to device_software, devices, device_patches or
# software_catalog drive from the staged rows and probe the grown table
# through its key, whatever the statistics say (migrations 0017 and 0018).
# Here the tables are emptied and analysed as such, one connection calls
# the functions (PL/pgSQL keeps its plans for the life of the connection),
# the tables grow back, and the second call's plans (from auto_explain)
# must still have the staged rows as the outer side of each nested loop,
# probing the grown table through its key. Before
# 0017 the grown table was read whole, once per staged row (53 s for 2,000
# staged rows against 200,000), or a tenant's devices were, through an
# index that matched the tenant alone; before 0018 device_software was
# probed through device_software_by_version by the program alone (every
# device's row of it, per staged row), device_patches by the tenant alone,
# a whole index of devices per device asked for, and a tenant's catalog.
. "$(dirname "$0")/../lib/testlib.sh"

tenant=$(new_tenant "Plans")
rows=20000
sql "INSERT INTO devices (tenant_id, id, agent_id, hostname, first_seen, last_seen, last_inventory_at)
     SELECT '$tenant', md5('d' || g)::uuid, md5('a' || g)::uuid, 'H' || g, now(), now(), now()
       FROM generate_series(1, $rows) g" >/dev/null
sql "INSERT INTO device_software (tenant_id, device_id, software_id, version, version_key, first_seen)
     SELECT '$tenant', md5('d' || g)::uuid, 1, 'v', '', now() FROM generate_series(1, $rows) g" >/dev/null
sql "INSERT INTO device_patches (tenant_id, device_id, hotfix_id, first_seen)
     SELECT '$tenant', md5('d' || g)::uuid, 'KB1', now() FROM generate_series(1, $rows) g" >/dev/null
sql "INSERT INTO software_catalog (tenant_id, name)
     SELECT '$tenant', 'P' || g FROM generate_series(1, $rows) g" >/dev/null
sql "CREATE TABLE grown AS SELECT * FROM devices" >/dev/null
one=$(sql "SELECT md5('d1')::uuid")

# One fetch's worth of staging: a software row that goes, a device whose
# revision advances, a patch list (all of device one).
fetch() {
  cat <<SQL
BEGIN;
SELECT count(*) FROM tally_ingest_begin();
INSERT INTO stage_software_ops (device_id, software_id, version, moved) SELECT '$one', 1, 'v', false
  WHERE EXISTS (SELECT 1 FROM device_software WHERE device_id = '$one');
INSERT INTO stage_software_devices (tenant_id, device_id, rev, reported_at)
  SELECT tenant_id, id, software_rev, now() FROM devices WHERE id = '$one';
INSERT INTO stage_patch_lists VALUES (0, '$tenant', '$one', now(), 1);
INSERT INTO stage_patches VALUES (0, 'KB2', NULL, NULL);
SELECT * FROM tally_ingest_device_rows(ARRAY['$tenant']::uuid[], ARRAY[md5('a1')::uuid]);
SELECT tally_ingest_software(ARRAY['$tenant']::uuid[],
  ARRAY(SELECT id FROM tally_catalog_ids('$tenant', '[["P1", ""]]')));
SELECT tally_ingest_devices();
ROLLBACK;
SQL
}
# The tables emptied (their rows kept aside) and analysed; a first fetch;
# the rows back; a second fetch, in the same connection.
{
  echo "CREATE TEMP TABLE ds AS SELECT * FROM device_software;"
  echo "CREATE TEMP TABLE dp AS SELECT * FROM device_patches;"
  echo "CREATE TEMP TABLE sc AS SELECT * FROM software_catalog;"
  echo "DELETE FROM device_software; DELETE FROM device_patches; DELETE FROM devices;"
  echo "DELETE FROM software_catalog;"
  echo "ANALYZE devices, device_software, device_patches, software_catalog;"
  fetch
  echo "INSERT INTO devices SELECT * FROM grown;"
  echo "INSERT INTO device_software SELECT * FROM ds;"
  echo "INSERT INTO device_patches SELECT * FROM dp;"
  echo "INSERT INTO software_catalog OVERRIDING SYSTEM VALUE SELECT * FROM sc;"
  echo "LOAD 'auto_explain';"
  echo "SET auto_explain.log_min_duration = 0;"
  echo "SET auto_explain.log_nested_statements = on;"
  echo "SET auto_explain.log_level = notice;"
  fetch
} >"$t_dir/session.sql"
psql "$TALLY_PG_SUPER_URL/$t_db" -qAt -v ON_ERROR_STOP=1 -f "$t_dir/session.sql" >"$t_dir/out" 2>&1 ||
  fail "the session failed: $(tail -5 "$t_dir/out")"

# Each statement's plan is a block from a "duration: ... plan:" line to the
# next; its query text opens it (an EXECUTEd one after a line break).
plan_of() { # TEXT: the plan of the first statement whose text starts with it
  awk -v want="$1" '
    function flush() { if (!done && index(head, want) > 0) { printf "%s", block; done = 1 } }
    /duration: .* plan:/ { flush(); block = ""; head = ""; n = 0 }
    { block = block $0 "\n"; if (n++ < 3) head = head " " $0 }
    END { flush() }' "$t_dir/out"
}
# statement|the index its probes must go through
while IFS='|' read -r stmt index; do
  plan=$(plan_of "$stmt")
  [ -n "$plan" ] || fail "no plan logged for $stmt: $(head -c 2000 "$t_dir/out")"
  # The first scan under its first nested loop is the loop's outer side:
  # the staged rows, each probing the grown table through its key.
  outer=$(awk '/Nested Loop/ { on = 1; next } on && /Scan/ { print; exit }' <<<"$plan")
  case $outer in
    *" on stage_"* | *"Function Scan on "*) ;;
    *) fail "$stmt drives from the grown table, not from the staged rows: $plan" ;;
  esac
  # A probe: the index searched by a condition on the staged row's values.
  grep -A1 "Index Scan on $index " <<<"$plan" | grep -q "Index Cond:" ||
    fail "$stmt does not probe through $index: $plan"
done <<'STATEMENTS'
DELETE FROM device_software|device_software_pkey
UPDATE device_software|device_software_pkey
INSERT INTO stage_patch_apply|devices_pkey
DELETE FROM device_patches|device_patches_pkey
UPDATE devices d SET patches_reported_at|devices_pkey
UPDATE devices d SET software_rev|devices_pkey
SELECT k.i::int, coalesce(d.id|devices_tenant_id_agent_id_key
SELECT c.name, c.publisher, c.id|software_catalog_tenant_id_name_publisher_key
FROM unnest(tenants, ids) AS s(tenant_id, id)|software_catalog_pkey
STATEMENTS
[ "$(sql "SELECT count(*) FROM device_software")" = "$rows" ] || fail "the fetches were not rolled back"
pass "after the tables grew under one connection, each staged row finds its rows by key"
