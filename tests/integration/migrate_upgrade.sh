#!/usr/bin/env bash
# A database at migration 0017 holding ingest's rows migrates to the newest
# schema and keeps them (0018 rebuilt the keys of devices, device_patches and
# software_catalog), and ingest then stores a batch of a device it holds
# under that device's id. The database is made at 0017 by `tally migrate
# --to 17`, which stops there.
. "$(dirname "$0")/../lib/testlib.sh"

psql "$TALLY_PG_SUPER_URL/postgres" -q -v ON_ERROR_STOP=1 \
  -c "DROP DATABASE IF EXISTS $t_db WITH (FORCE)" -c "CREATE DATABASE $t_db OWNER tally_owner" \
  -c "\\connect $t_db" -c "ALTER SCHEMA public OWNER TO tally_owner" >/dev/null
for args in "--to 9999" "--to x" "--to" "--from 3"; do
  rc=0
  # shellcheck disable=SC2086 # the arguments are meant to split
  "$TALLY_BIN" migrate $args 2>"$t_dir/err" || rc=$?
  [ "$rc" = 2 ] || fail "migrate $args exited $rc, expected 2"
  grep -q "^tally migrate: " "$t_dir/err" || fail "migrate $args: $(cat "$t_dir/err")"
done
grep -q "has no migration 9999 (its last is" <("$TALLY_BIN" migrate --to 9999 2>&1) ||
  fail "migrate --to 9999 must name the last migration it has"
[ "$(sql "SELECT count(*) FROM pg_tables WHERE tablename = 'tally_schema_migrations'")" = 0 ] ||
  fail "a refused migrate touched the database"
"$TALLY_BIN" migrate --to 17 2>"$t_dir/to17.log" || fail "migrate --to 17: $(tail -3 "$t_dir/to17.log")"
grep -q '"schema at 0017 or later: 17 applied now, 17 of ' "$t_dir/to17.log" ||
  fail "migrate --to 17: $(tail -1 "$t_dir/to17.log")"
[ "$(sql "SELECT max(version) || ' ' || count(*) FROM tally_schema_migrations")" = "17 17" ] ||
  fail "migrate --to 17 recorded $(sql "SELECT max(version) || ' ' || count(*) FROM tally_schema_migrations")"
pass "migrate refuses bad arguments (exit 2, nothing touched) and --to 17 stops at 0017"

# Rows of every table 0018 changes, as ingest at 0017 wrote them: two
# tenants, each with a device (ids not derived from the agent's, as a
# device's id may be), its software and patch sets, and a program.
tenant=$(new_tenant "Upgrade")
key=$(new_agent_key "$tenant")
other=$(new_tenant "Upgrade other")
agent=$(jq -r .agent.id "$root/docs/examples/inventory-batch.json")
device=6d6d6d6d-0000-4000-8000-000000000001
sql "INSERT INTO devices (tenant_id, id, agent_id, hostname, first_seen, last_seen, last_inventory_at)
     VALUES ('$tenant', '$device', '$agent', 'UPGRADE-1', now() - interval '1 day',
             now() - interval '1 day', now() - interval '1 day'),
            ('$other', '6d6d6d6d-0000-4000-8000-000000000002', '$agent', 'UPGRADE-2', now(), now(), now())"
sql "INSERT INTO software_catalog (tenant_id, name, publisher) VALUES ('$tenant', 'Editor', 'Vendor'),
       ('$other', 'Editor', 'Vendor')"
sql "INSERT INTO device_software (tenant_id, device_id, software_id, version, version_key, first_seen)
     SELECT tenant_id, '$device', id, '1.0', tally_version_key('1.0'), now()
       FROM software_catalog WHERE tenant_id = '$tenant'"
sql "INSERT INTO device_patches (tenant_id, device_id, hotfix_id, first_seen)
     VALUES ('$tenant', '$device', 'KB1000', now())"
counts() {
  sql "SELECT (SELECT count(*) FROM devices) || ' ' || (SELECT count(*) FROM software_catalog) || ' ' ||
              (SELECT count(*) FROM device_software) || ' ' || (SELECT count(*) FROM device_patches)"
}
before=$(counts)
[ "$before" = "2 2 1 1" ] || fail "fixture: $before"

"$TALLY_BIN" migrate 2>"$t_dir/upgrade.log" || fail "migrate from 0017: $(tail -3 "$t_dir/upgrade.log")"
latest=$(find "$root/migrations" -name '*.sql' | wc -l)
grep -q "\"schema up to date: $((latest - 17)) applied now, $latest in total\"" "$t_dir/upgrade.log" ||
  fail "migrate from 0017 did not apply the $((latest - 17)) newer migrations: $(tail -1 "$t_dir/upgrade.log")"
[ "$(counts)" = "$before" ] || fail "rows after the upgrade: $(counts), before: $before"
pass "a database at 0017 with ingest's rows migrates to $latest and keeps them"

# The keys still refuse what they refused: a second device of an agent in its
# tenant, a program twice in a tenant's catalog, a patch twice in a set.
refused() { # SQL: must fail on a unique key
  if sql "$1" >/dev/null 2>"$t_dir/refused.err"; then fail "accepted: $1"; fi
  grep -q "duplicate key" "$t_dir/refused.err" || fail "$1: $(cat "$t_dir/refused.err")"
}
refused "INSERT INTO devices (tenant_id, id, agent_id, hostname, first_seen, last_seen,
           last_inventory_at) VALUES ('$tenant', gen_random_uuid(), '$agent', 'H', now(), now(), now())"
refused "INSERT INTO software_catalog (tenant_id, name, publisher) VALUES ('$tenant', 'Editor', 'Vendor')"
refused "INSERT INTO device_patches (tenant_id, device_id, hotfix_id, first_seen)
         VALUES ('$tenant', '$device', 'KB1000', now())"
pass "after the upgrade the keys refuse a second device of an agent, program or patch"

# Ingest finds the device by its agent and stores the batch under its id;
# the other tenant's device of the same agent is left alone.
start_tally serve
start_tally ingest
jq '.batch_id = "6d6d6d6d-0000-4000-8000-0000000000b1"' "$root/docs/examples/inventory-batch.json" >"$t_dir/b.json"
read -r status body < <(post_batch "$key" "$t_dir/b.json")
[ "$status" = 202 ] || fail "batch: $status $body"
wait_for "SELECT count(*) FROM inventory_reports" 1 30
[ "$(sql "SELECT device_id FROM inventory_reports")" = "$device" ] ||
  fail "the batch was stored under $(sql "SELECT device_id FROM inventory_reports"), not $device"
[ "$(sql "SELECT count(*) FROM devices")" = 2 ] || fail "ingest made a device: $(sql "SELECT count(*) FROM devices")"
[ "$(sql "SELECT hostname FROM devices WHERE tenant_id = '$other'")" = UPGRADE-2 ] ||
  fail "the other tenant's device changed"
[ "$(sql "SELECT last_seen > now() - interval '1 hour' FROM devices WHERE id = '$device'")" = t ] ||
  fail "the device's facts were not updated"
pass "ingest stores a batch of an upgraded device under its id"
