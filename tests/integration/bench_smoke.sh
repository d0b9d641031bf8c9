#!/usr/bin/env bash
# The fleet simulator (bench/, tally-fleet) against a real serve + ingest:
# each mode runs a few seconds and must report accepted batches and no 4xx,
# and what it reports accepted must land in PostgreSQL. Its generator must
# be deterministic (same seed, same bytes; another seed, other bytes), and
# every document it makes must pass the batch schema. Checks that it
# reports, not how fast.
. "$(dirname "$0")/../lib/testlib.sh"

: "${TALLY_FLEET_BIN:?set by tests/CMakeLists.txt}"
: "${TALLY_SCHEMA_CHECK_BIN:?set by tests/CMakeLists.txt}"

start_tally ingest
start_tally serve

tenant_a=$(new_tenant "Contoso")
tenant_b=$(new_tenant "Fabrikam")
new_agent_key "$tenant_a" > "$t_dir/keys"
new_agent_key "$tenant_b" >> "$t_dir/keys"

# fleet MODE ARGS...: a short run; its JSON report is $t_dir/MODE.json.
fleet() {
  local mode=$1
  shift
  if ! "$TALLY_FLEET_BIN" --url "$TALLY_URL" --keys-file "$t_dir/keys" --mode "$mode" \
    --pid "${t_pids[0]}" --pid "${t_pids[1]}" --database-url "$TALLY_OWNER_DATABASE_URL" \
    --duration 3 --json-out "$t_dir/$mode.json" "$@" >"$t_dir/$mode.out" 2>"$t_dir/$mode.err"; then
    cat "$t_dir/$mode.out" "$t_dir/$mode.err" >&2
    fail "tally-fleet --mode $mode exited non-zero"
  fi
  local accepted fourxx
  accepted=$(jq -r .accepted "$t_dir/$mode.json")
  fourxx=$(jq '[.status | to_entries[] | select(.key | startswith("4")) | .value] | add // 0' \
    "$t_dir/$mode.json")
  if [ "$accepted" -le 0 ] || [ "$fourxx" -ne 0 ]; then
    cat "$t_dir/$mode.out" "$t_dir/$mode.err" >&2
    fail "--mode $mode: accepted=$accepted, 4xx=$fourxx"
  fi
  # Policy fetches may meet a server without the endpoint (404), nothing else.
  fourxx=$(jq '[.policy.status | to_entries[] | select((.key | startswith("4")) and .key != "404")
                | .value] | add // 0' "$t_dir/$mode.json")
  [ "$fourxx" -eq 0 ] || fail "--mode $mode: policy fetches got 4xx: $(jq -c .policy "$t_dir/$mode.json")"
  grep -q '^accepted batches/s' "$t_dir/$mode.out" || fail "--mode $mode: no table on stdout"
  # The server side: what landed (the fleet waits for ingest), freshness,
  # and serve's and ingest's CPU and RSS.
  local stored
  stored=$(jq '.server.pg.batches' "$t_dir/$mode.json")
  [ "$stored" = "$(jq '.accepted - .duplicates' "$t_dir/$mode.json")" ] ||
    fail "--mode $mode: $stored batches stored, $(jq '.accepted - .duplicates' "$t_dir/$mode.json") accepted"
  # (Every report carries a metric sample: more rows than batches.)
  [ "$(jq '.server.pg.rows > .server.pg.batches and .server.pg.freshness_ms.p50 > 0' \
    "$t_dir/$mode.json")" = true ] ||
    fail "--mode $mode: server figures: $(jq -c .server.pg "$t_dir/$mode.json")"
  [ "$(jq '[.server.processes[] | select(.peak_rss_mib > 0 and .cpu_s > 0)] | length' "$t_dir/$mode.json")" = 2 ] ||
    fail "--mode $mode: process figures: $(jq -c .server.processes "$t_dir/$mode.json")"
  grep -q '^stored in PostgreSQL .* batches' "$t_dir/$mode.out" || fail "--mode $mode: no PostgreSQL line"
  # A tick at each whole second of the run (the last one may fall after the
  # run stopped), and one at its end when anything came after the last:
  # at least one, and one a second but the last.
  [ "$(jq '(.timeline | length) >= ([1, (.elapsed_s | floor) - 1] | max)' "$t_dir/$mode.json")" = true ] ||
    fail "--mode $mode: expected a tick per second: $(jq -c '{elapsed_s, ticks: [.timeline[].t_s]}' "$t_dir/$mode.json")"
  pass "--mode $mode: $accepted accepted, no 4xx, p99 $(jq .latency_ms.p99 "$t_dir/$mode.json") ms"
}

fleet steady --devices 8 --interval 1
fleet storm --devices 6 --backlog 5
fleet max --devices 8 --connections 4
# --batches stops a max run after that many answers (bench/drain.sh's backlog),
# however soon (600 took 0.86 s once serve parsed faster: a single tick).
cp "$t_dir/max.json" "$t_dir/max-timed.json"
fleet max --devices 8 --connections 4 --duration 60 --batches 600
[ "$(jq .accepted "$t_dir/max.json")" = 600 ] || fail "--batches 600: $(jq .accepted "$t_dir/max.json") accepted"
[ "$(jq '.elapsed_s < 30' "$t_dir/max.json")" = true ] || fail "--batches 600 did not stop the run early"

[ "$(jq .storm.backlog_batches "$t_dir/storm.json")" = 30 ] || fail "storm: backlog should be 30"

# A key the server refuses: each device stops after its 401 (the protocol's
# "stop uploading, keep the queue"), so a 3 s max run makes one request per
# device, not a retry storm.
"$TALLY_FLEET_BIN" --url "$TALLY_URL" --key "tly_AAAAAAAAAAAA_$(printf 'b%.0s' {1..43})" --mode max \
  --devices 5 --connections 5 --duration 3 --policy-every 0 --database-url '' \
  --json-out "$t_dir/badkey.json" >"$t_dir/badkey.out" 2>&1 || fail "tally-fleet with a bad key failed"
[ "$(jq '[.status["401"], .key_refusals, .accepted, .retries]' -c "$t_dir/badkey.json")" = "[5,5,0,0]" ] ||
  fail "bad key: $(jq -c '{status, key_refusals, accepted, retries}' "$t_dir/badkey.json")"
pass "a refused key pauses each device after one 401 (5 devices, 5 requests)"

# Every batch reported accepted (and not a duplicate) reaches PostgreSQL,
# from devices of both tenants.
expected=$(jq -s 'map(.accepted - .duplicates) | add' "$t_dir"/steady.json "$t_dir"/storm.json \
  "$t_dir"/max-timed.json "$t_dir"/max.json)
wait_for "SELECT count(*) FROM ingested_batches" "$expected" 60
[ "$(sql "SELECT count(DISTINCT tenant_id) FROM devices")" = 2 ] ||
  fail "devices of both tenants should be stored"
pass "all $expected accepted batches are in PostgreSQL, across 2 tenants"

# The generator: same seed, same bytes; another seed, other bytes.
dump() {
  "$TALLY_FLEET_BIN" --dump 50 "$t_dir/$1" --devices 5 --full-every 3 --seed "$2" \
    2>>"$t_dir/dump.err" || fail "--dump exited non-zero"
  [ "$(find "$t_dir/$1" -name '*.json' | wc -l)" = 50 ] || fail "--dump should write 50 files"
}
dump seed7-a 7
dump seed7-b 7
dump seed8 8
diff -r "$t_dir/seed7-a" "$t_dir/seed7-b" >/dev/null || fail "same seed gave different documents"
if diff -r "$t_dir/seed7-a" "$t_dir/seed8" >/dev/null; then
  fail "different seeds gave identical documents"
fi
pass "--dump is deterministic per seed"

# Every document passes the schema, software lists and events included.
"$TALLY_SCHEMA_CHECK_BIN" "$root/schema/inventory-batch.v1.schema.json" "$t_dir"/seed7-a/*.json \
  > "$t_dir/schema.out" || fail "schema checker failed"
valid=$(grep -c $'\tvalid$' "$t_dir/schema.out" || true)
if [ "$valid" != 50 ]; then
  grep -v $'\tvalid$' "$t_dir/schema.out" >&2
  fail "$valid of 50 dumped documents are valid"
fi
full=$(jq -s 'map(select(.software)) | length' "$t_dir"/seed7-a/*.json)
[ "$full" -ge 10 ] || fail "expected at least 10 full inventories among the 50, got $full"
pass "all 50 dumped documents are valid ($full full inventories)"
