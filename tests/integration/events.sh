#!/usr/bin/env bash
# The event and metric sections reach their daily-partitioned tables by COPY,
# exactly as sent (backslashes, tabs, newlines, non-ASCII, IPv6), under the
# right tenant and device; every value is what PostgreSQL's own text input
# makes of it (ingest writes them in COPY's binary format); rows dated
# outside the partitions go to out_of_window_events; a redelivered batch
# adds nothing.
. "$(dirname "$0")/../lib/testlib.sh"

start_tally ingest
start_tally serve
tenant=$(new_tenant "Eventful")
key=$(new_agent_key "$tenant")
example="$root/schema/examples/valid/events-and-metrics.json"
now=$(date -u +%Y-%m-%dT%H:%M:%SZ)
today=$(date -u +%Y-%m-%d)

# Every timestamp now, except one process event from 2020 (no partition);
# values at the edges of their types and forms.
jq --arg now "$now" --arg today "$today" '
  .process_events |= map(.ts = $now) | .network_events |= map(.ts = $now) |
  .file_events |= map(.ts = $now) | .metrics |= map(.ts = $now) |
  .process_events[0].cmdline = "cmd.exe /c \"echo a\tb\" \\\\server\\share\nnext line" |
  .process_events[1].ts = "2020-03-01T12:00:00Z" |
  .process_events[2].ts = ($today + "T23:59:60Z") | .process_events[2].pid = 4294967295 |
  .process_events[2].ppid = 0 |
  .network_events[0].local_ip = "2001:0DB8:0000:0000:0000:0000:0000:0001" |
  .network_events[0].remote_ip = "::ffff:192.0.2.1" | .network_events[0].local_port = 65535 |
  .network_events[1].ts = ($today + "T06:00:00.9999995+05:30") |
  .file_events[0].size_bytes = 9007199254740991 |
  .metrics[0].cpu_pct = 33.333333333 | .metrics[0].disk_used_pct = 0.0000001 |
  .metrics[1].ts = ($today + "T00:00:00.123456789Z")' "$example" >"$t_dir/batch.json"
read -r status body < <(post_batch "$key" "$t_dir/batch.json")
[ "$status" = 202 ] || fail "POST: $status $body"

np=$(jq '.process_events | length' "$t_dir/batch.json")
nn=$(jq '.network_events | length' "$t_dir/batch.json")
nf=$(jq '.file_events | length' "$t_dir/batch.json")
nm=$(jq '.metrics | length' "$t_dir/batch.json")
wait_for "SELECT count(*) FROM inventory_reports" 1 30
counts=$(sql "SELECT (SELECT count(*) FROM process_events), (SELECT count(*) FROM network_events),
                     (SELECT count(*) FROM file_events), (SELECT count(*) FROM device_metrics),
                     (SELECT count(*) FROM out_of_window_events)")
[ "$counts" = "$((np - 1))|$nn|$nf|$nm|1" ] || fail "row counts $counts, want $((np - 1))|$nn|$nf|$nm|1"
pass "events in their tables: $((np - 1)) process, $nn network, $nf file, $nm metrics; 1 out of window"

# Tenant and device are the batch's; the values are byte-exact.
[ "$(sql "SELECT count(*) FROM process_events e JOIN devices d ON d.id = e.device_id AND d.tenant_id = e.tenant_id
          WHERE e.tenant_id = '$tenant'")" = "$((np - 1))" ] || fail "process events not tied to the device"
want=$(jq -r '.process_events[0].cmdline' "$t_dir/batch.json")
got=$(sql "SELECT cmdline FROM process_events WHERE pid = $(jq '.process_events[0].pid' "$t_dir/batch.json")")
[ "$got" = "$want" ] || fail "cmdline changed on the way: [$got] vs [$want]"
want=$(jq -r '.file_events[0].path' "$t_dir/batch.json")
[ "$(sql "SELECT path FROM file_events LIMIT 1")" = "$want" ] || fail "non-ASCII path changed"
[ "$(sql "SELECT count(*) FROM network_events WHERE family(local_ip) = 6")" = \
  "$(jq '[.network_events[] | select(.local_ip | test(":"))] | length' "$t_dir/batch.json")" ] ||
  fail "IPv6 addresses not stored as inet"
pass "values are exact: tabs, newlines and backslashes in cmdline, non-ASCII paths, IPv6"

# Every column of every row, against PostgreSQL's own reading of the
# section (jsonb_to_recordset passes each value through its type's text
# input, as a text COPY would): "rows of the document not stored|stored
# rows not in the document".
differ() { # section table "record definition" "the table's columns in its order"
  sql "WITH x AS (SELECT * FROM jsonb_to_recordset(\$doc\$$(jq -c ".$1" "$t_dir/batch.json")\$doc\$) AS x($3)),
            s AS (SELECT $4 FROM $2)
       SELECT (SELECT count(*) FROM (TABLE x EXCEPT ALL TABLE s) a),
              (SELECT count(*) FROM (TABLE s EXCEPT ALL TABLE x) b)"
}
[ "$(differ process_events process_events 'ts timestamptz, op text, pid bigint, ppid bigint,
      name text, path text, cmdline text, "user" text, sha256 text' \
      'ts, op, pid, ppid, name, path, cmdline, user_name, sha256')" = "1|0" ] ||
  fail "process_events differ from the document (only the 2020 event may be missing)"
[ "$(differ network_events network_events 'ts timestamptz, protocol text, local_ip inet,
      local_port int, remote_ip inet, remote_port int, state text, pid bigint, process_name text' \
      'ts, protocol, local_ip, local_port, remote_ip, remote_port, state, pid, process_name')" = "0|0" ] ||
  fail "network_events differ from the document"
[ "$(differ file_events file_events 'ts timestamptz, op text, path text, old_path text,
      size_bytes bigint, sha256 text, pid bigint' 'ts, op, path, old_path, size_bytes, sha256, pid')" = "0|0" ] ||
  fail "file_events differ from the document"
[ "$(differ metrics device_metrics 'ts timestamptz, cpu_pct real, mem_used_bytes bigint,
      disk_used_pct real, net_rx_bytes bigint, net_tx_bytes bigint' \
      'ts, cpu_pct, mem_used_bytes, disk_used_pct, net_rx_bytes, net_tx_bytes')" = "0|0" ] ||
  fail "device_metrics differ from the document"
[ "$(sql "SELECT count(*) FROM process_events WHERE ts = '${today}T23:59:60Z' AND pid = 4294967295")" = 1 ] ||
  fail "the leap second event"
pass "every column of every row is PostgreSQL's reading of the document: leap second, 9-digit fractions, IPv6 forms, 2^53-1, reals"

row=$(sql "SELECT kind, ts = '2020-03-01T12:00:00Z', row_data->>'name' FROM out_of_window_events")
[ "$row" = "process_events|t|$(jq -r '.process_events[1].name' "$t_dir/batch.json")" ] ||
  fail "out-of-window row: $row"
pass "the 2020 event is kept in out_of_window_events with its kind and data"

# Partition pruning works on the agent's timestamps.
sql "EXPLAIN SELECT * FROM process_events WHERE ts >= now() - interval '1 hour'" |
  grep -q "process_events_p$(date -u +%Y%m%d)" || fail "no partition for today's events"

# The same batch again adds nothing (ledger), and RLS hides it from others.
read -r status body < <(post_batch "$key" "$t_dir/batch.json")
[ "$status" = 202 ] || fail "repost: $status"
other=$(new_tenant "Other")
app() { psql "$TALLY_DATABASE_URL" -qAt -v ON_ERROR_STOP=1 -c "$1"; }
sleep 1
[ "$(sql "SELECT count(*) FROM process_events")" = "$((np - 1))" ] || fail "repost duplicated events"
[ "$(app "BEGIN; SELECT set_config('app.tenant_id', '$other', true); SELECT count(*) FROM process_events; COMMIT" | sed -n 2p)" = 0 ] ||
  fail "another tenant sees these events"
pass "a repost adds no rows; another tenant sees none"

# Each table has its own window (retention is per table): with yesterday's
# file_events partition gone, yesterday's file event goes to
# out_of_window_events while yesterday's process event still has a home,
# and the batch is stored, not dead-lettered.
yesterday=$(date -u -d yesterday +%Y-%m-%dT12:00:00Z)
sql "DROP TABLE file_events_p$(date -u -d yesterday +%Y%m%d)"
jq --arg y "$yesterday" --arg id "$(cat /proc/sys/kernel/random/uuid)" '
  .batch_id = $id | .process_events = [.process_events[0] | .ts = $y] |
  .file_events = [.file_events[0] | .ts = $y] | del(.network_events, .metrics)' \
  "$t_dir/batch.json" >"$t_dir/yesterday.json"
read -r status body < <(post_batch "$key" "$t_dir/yesterday.json")
[ "$status" = 202 ] || fail "POST yesterday: $status $body"
wait_for "SELECT count(*) FROM inventory_reports" 2 30
[ "$(sql "SELECT count(*) FROM process_events WHERE ts = '$yesterday'")" = 1 ] ||
  fail "yesterday's process event is not in process_events"
[ "$(sql "SELECT string_agg(kind, ',' ORDER BY kind) FROM out_of_window_events WHERE ts = '$yesterday'")" = file_events ] ||
  fail "out of window: $(sql "SELECT kind, ts FROM out_of_window_events")"
[ "$(sql "SELECT count(*) FROM dead_letters")" = 0 ] || fail "a batch was dead-lettered"
pass "windows are per table: a file event without a partition is kept out of window, its batch stored"

# Ingest's /metrics counts what it wrote, table by table, and the lag.
for t in inventory_reports process_events network_events file_events device_metrics out_of_window_events; do
  [ "$(ingest_metric "tally_ingest_rows_total{table=\"$t\"}")" = "$(sql "SELECT count(*) FROM $t")" ] ||
    fail "rows_total for $t: $(ingest_metric "tally_ingest_rows_total{table=\"$t\"}")"
done
[ "$(ingest_metric 'tally_ingest_messages_total{outcome="stored"}')" = "$(sql "SELECT count(*) FROM inventory_reports")" ] ||
  fail "messages stored: $(ingest_metric 'tally_ingest_messages_total{outcome="stored"}')"
[ "$(ingest_metric tally_ingest_consumer_info_ok)" = 1 ] && [ "$(ingest_metric tally_ingest_consumer_pending)" = 0 ] ||
  fail "consumer lag: info_ok $(ingest_metric tally_ingest_consumer_info_ok), pending $(ingest_metric tally_ingest_consumer_pending)"
[ "$(ingest_metric tally_ingest_fetch_duration_seconds_count)" -ge 1 ] || fail "no fetch duration observed"
read -r code type < <(curl -sS -o /dev/null -w '%{http_code} %{content_type}\n' \
  "http://127.0.0.1:$TALLY_INGEST_METRICS_PORT/nope")
[ "$code $type" = "404 application/problem+json" ] || fail "ingest /nope: $code $type"
pass "ingest /metrics: rows per table and stored batches equal the tables' counts; no lag"
