#!/usr/bin/env bash
# The walking skeleton end to end: agent POST -> serve -> JetStream -> ingest
# -> PostgreSQL, with dedup on retry and tenant separation.
. "$(dirname "$0")/../lib/testlib.sh"

# One worker: the last check needs the batch to reach the worker that has
# learned the device's id.
TALLY_INGEST_WORKERS=1 start_tally ingest
start_tally serve

tenant_a=$(new_tenant "Contoso")
tenant_b=$(new_tenant "Fabrikam")
key_a=$(new_agent_key "$tenant_a")
key_b=$(new_agent_key "$tenant_b")
batch="$root/docs/examples/inventory-batch.json"

read -r status body < <(post_batch "$key_a" "$batch" -H 'X-Request-Id: roundtrip-1')
[ "$status" = 202 ] || fail "first POST: $status $body"
[ "$(jq -r .duplicate <<<"$body")" = false ] || fail "first POST marked duplicate: $body"
[ "$(jq -r .batch_id <<<"$body")" = 3f6c1a52-8d4e-4b7a-9c21-5e0f7a9b2d41 ] || fail "batch_id: $body"
pass "POST answered 202 duplicate=false"

wait_for "SELECT count(*) FROM inventory_reports" 1 20
row=$(sql "SELECT tenant_id, hostname, domain, os_name, arch, cpu_cores, memory_bytes,
                  array_to_string(ip_addresses, ','), mac_addresses[1], disks->0->>'mount'
             FROM devices")
expected="$tenant_a|FIN-LT-0423|corp.contoso.com|Windows 11 Enterprise|x64|10|34359738368|10.20.31.44,fe80::1c2b:3a4d:5e6f:7081|3C:52:82:6A:1F:0D|C:"
[ "$row" = "$expected" ] || fail "device row: got [$row] want [$expected]"
pass "device row carries the batch's facts and the key's tenant"

# Every device column against PostgreSQL's own reading of the device object
# (jsonb_to_record passes each member through its type's input, as the
# jsonb staging before 0014 did; ingest now sends binary values), and the
# report's sent_at.
same=$(sql "SELECT d.hostname IS NOT DISTINCT FROM r.hostname AND d.domain IS NOT DISTINCT FROM r.domain
                   AND (d.os_name, d.os_version, d.os_build, d.arch, d.serial, d.manufacturer, d.model,
                        d.cpu_model, d.cpu_cores, d.memory_bytes, d.boot_time)
                       IS NOT DISTINCT FROM (r.os_name, r.os_version, r.os_build, r.arch, r.serial,
                        r.manufacturer, r.model, r.cpu_model, r.cpu_cores, r.memory_bytes, r.boot_time)
                   AND d.disks = r.disks AND d.ip_addresses = r.ip_addresses
                   AND d.mac_addresses = r.mac_addresses AND d.logged_in_users = r.logged_in_users
                   AND d.agent_version = \$j\$$(jq -r .agent.version "$batch")\$j\$
                   AND (SELECT sent_at FROM inventory_reports) = '$(jq -r .sent_at "$batch")'
              FROM devices d, jsonb_to_record(\$j\$$(jq -c .device "$batch")\$j\$) AS r(hostname text,
                     domain text, os_name text, os_version text, os_build text, arch text, serial text,
                     manufacturer text, model text, cpu_model text, cpu_cores int, memory_bytes bigint,
                     disks jsonb, ip_addresses text[], mac_addresses text[], boot_time timestamptz,
                     logged_in_users text[])")
[ "$same" = t ] || fail "device columns differ from PostgreSQL's reading of the device object"
[ "$(jq '.device | keys | length' "$batch")" = 17 ] || fail "the example no longer has every device member"
pass "every device column is PostgreSQL's reading of the device object"

# Every software row likewise (ingest COPYs them in binary format too): the
# list as PostgreSQL reads it, each item under its catalog entry, with the
# version key of tally_version_key and first seen at the batch's receipt.
differ=$(sql "WITH x AS (SELECT btrim(name) AS name, btrim(coalesce(publisher, '')) AS publisher,
                                coalesce(version, '') AS version, install_date, install_location, source
                           FROM jsonb_to_recordset(\$j\$$(jq -c .software "$batch")\$j\$) AS x(name text,
                                publisher text, version text, install_date date, install_location text,
                                source text)),
                   s AS (SELECT c.name, c.publisher, s.version, s.install_date, s.install_location, s.source
                           FROM device_software s JOIN software_catalog c ON c.tenant_id = s.tenant_id
                                AND c.id = s.software_id
                          WHERE s.version_key = tally_version_key(s.version)
                            AND s.first_seen = (SELECT received_at FROM inventory_reports))
              SELECT (SELECT count(*) FROM (TABLE x EXCEPT ALL TABLE s) a),
                     (SELECT count(*) FROM (TABLE s EXCEPT ALL TABLE x) b), (SELECT count(*) FROM x)")
[ "$differ" = "0|0|$(jq '.software | length' "$batch")" ] ||
  fail "software rows differ from PostgreSQL's reading of the list (missing|extra|items): $differ"
pass "every software row is PostgreSQL's reading of the list, with its version key"

report=$(sql "SELECT r.tenant_id, r.batch_id, r.request_id, r.software_count, r.patch_count,
                     r.body_bytes = $(stat -c %s "$batch"), r.device_id = d.id,
                     r.sent_at = '2026-11-21T09:14:03.512Z', r.received_at > now() - interval '1 minute'
                FROM inventory_reports r JOIN devices d USING (tenant_id)")
[ "$report" = "$tenant_a|3f6c1a52-8d4e-4b7a-9c21-5e0f7a9b2d41|roundtrip-1|2|1|t|t|t|t" ] ||
  fail "report row: $report"
pass "report row: tenant, batch, request id carried through NATS, counts, times"

# A retry of the same batch: 202 duplicate, and nothing stored twice.
read -r status body < <(post_batch "$key_a" "$batch")
[ "$status" = 202 ] && [ "$(jq -r .duplicate <<<"$body")" = true ] || fail "retry: $status $body"
pass "retry answered 202 duplicate=true"

# The same agent id under another tenant is another device.
read -r status body < <(post_batch "$key_b" "$batch")
[ "$status" = 202 ] && [ "$(jq -r .duplicate <<<"$body")" = false ] || fail "tenant B: $status $body"
wait_for "SELECT count(*) FROM inventory_reports" 2 20
[ "$(sql "SELECT count(*), count(DISTINCT tenant_id), count(DISTINCT id) FROM devices")" = "2|2|2" ] ||
  fail "expected two devices in two tenants"
[ "$(sql "SELECT count(*) FROM ingested_batches")" = 2 ] || fail "ledger should hold 2 batches"
pass "same agent id in another tenant is a separate device; the retry stored nothing"

# Row-level security as the application role: nothing without a tenant,
# only the tenant's own rows with one.
app() { psql "$TALLY_DATABASE_URL" -qAt -v ON_ERROR_STOP=1 -c "$1"; }
[ "$(app "SELECT count(*) FROM devices")" = 0 ] || fail "RLS: rows visible without a tenant"
[ "$(app "BEGIN; SELECT set_config('app.tenant_id', '$tenant_a', true); SELECT count(*), min(tenant_id::text) FROM devices; COMMIT" | sed -n 2p)" = "1|$tenant_a" ] ||
  fail "RLS: tenant A should see exactly its device"
if app "INSERT INTO devices (tenant_id, agent_id, hostname, first_seen, last_seen, last_inventory_at)
        VALUES ('$tenant_a', gen_random_uuid(), 'x', now(), now(), now())" 2>/dev/null; then
  fail "RLS: insert without a tenant setting succeeded"
fi
pass "row-level security fails closed for the application role"

# /metrics: Prometheus text format, and the counts of what just happened.
curl -sS -D "$t_dir/h" "$TALLY_URL/metrics" >"$t_dir/metrics"
grep -qi '^content-type: text/plain; version=0.0.4' "$t_dir/h" || fail "metrics content type"
bad=$(grep -v '^#' "$t_dir/metrics" | grep -Ev '^[a-z_]+(\{[a-z_]+="[^"]*"(,[a-z_]+="[^"]*")*\})? [0-9.e+-]+$' || true)
[ -z "$bad" ] || fail "malformed metrics lines: $bad"
metric() { grep -v '^#' "$t_dir/metrics" | grep -F "$1 " | awk '{print $NF}'; }
[ "$(metric 'tally_http_requests_total{route="agent_inventory",status="202"}')" = 3 ] || fail "202 count"
[ "$(metric 'tally_publishes_total{outcome="stored"}')" = 2 ] || fail "stored publishes"
[ "$(metric 'tally_publishes_total{outcome="duplicate"}')" = 1 ] || fail "duplicate publishes"
[ "$(metric 'tally_publish_duration_seconds_count')" = 3 ] || fail "publish latency count"
[ "$(metric 'tally_http_request_duration_seconds_bucket{route="agent_inventory",le="+Inf"}')" = 3 ] ||
  fail "request latency histogram"
[ "$(metric 'tally_auth_cache_lookups_total{result="miss"}')" = 2 ] || fail "cache misses (one per key)"
[ "$(metric 'tally_auth_cache_lookups_total{result="hit"}')" = 1 ] || fail "cache hits"
[ "$(metric 'tally_nats_connected')" = 1 ] || fail "nats gauge"
pass "/metrics: well-formed; requests, publishes, latencies and auth cache counted"

# Ingest keeps the device ids it has learned (ingest/devids.h). A device
# whose row now has another id (deleted and back) makes the next batch's
# device upsert fail on (tenant, agent); ingest clears its caches, looks the
# id up again and stores the batch under it. The batch carries no software
# list: with one, ingest reads the device's row anyway.
old_id=$(sql "SELECT id FROM devices WHERE tenant_id = '$tenant_a'")
new_id=$(sql "SELECT gen_random_uuid()")
sql "UPDATE devices SET id = '$new_id' WHERE tenant_id = '$tenant_a'" >/dev/null
jq 'del(.software) | .batch_id = "3f6c1a52-8d4e-4b7a-9c21-5e0f7a9b2d42"' "$batch" >"$t_dir/again.json"
read -r status body < <(post_batch "$key_a" "$t_dir/again.json")
[ "$status" = 202 ] || fail "batch after the id change: $status $body"
wait_for "SELECT count(*) FROM inventory_reports" 3 20
[ "$(sql "SELECT device_id FROM inventory_reports
           WHERE batch_id = '3f6c1a52-8d4e-4b7a-9c21-5e0f7a9b2d42'")" = "$new_id" ] ||
  fail "the batch was not stored under the device's id $new_id (ingest held $old_id)"
[ "$(sql "SELECT count(*) FROM devices WHERE tenant_id = '$tenant_a'")" = 1 ] ||
  fail "a second device row for the agent"
grep -q 'a cache was stale.*devices_tenant_id_agent_id_key' "$t_dir/ingest.log" ||
  fail "ingest did not report its stale device id"
[ "$(sql "SELECT count(*) FROM dead_letters")" = 0 ] || fail "the batch was dead-lettered"
pass "a device id ingest cached that is no longer the device's is noticed and replaced"
