#!/usr/bin/env bash
# A fetch holds at most TALLY_INGEST_FETCH_MAX_BYTES of messages, so that a
# backlog of large batches cannot take an ingest worker's memory; a message
# larger than the bound is fetched alone, not left behind.
. "$(dirname "$0")/../lib/testlib.sh"

export TALLY_INGEST_WORKERS=1 TALLY_INGEST_FETCH_MAX_BYTES=200000
start_tally serve
tenant=$(new_tenant "Big Batches")
key=$(new_agent_key "$tenant")
now=$(date -u +%Y-%m-%dT%H:%M:%SZ)

# Six batches of about 76 KB (150 process events each), then one of about
# 250 KB: with ingest stopped, they wait in the stream.
batch() { # N_EVENTS INDEX
  jq --arg now "$now" --arg id "$(printf 'f00dbabe-0000-4000-8000-%012d' "$2")" --argjson n "$1" '
    .batch_id = $id | .process_events = [range($n) as $k | .process_events[0] | .ts = $now | .pid = $k] |
    .network_events |= map(.ts = $now) | .file_events |= map(.ts = $now) | .metrics |= map(.ts = $now)' \
    "$root/schema/examples/valid/events-and-metrics.json" >"$t_dir/b$2.json"
}
for i in 1 2 3 4 5 6; do batch 150 "$i"; done
batch 500 7
size=$(wc -c <"$t_dir/b1.json")
big=$(wc -c <"$t_dir/b7.json")
[ "$size" -gt 66667 ] && [ "$((2 * size))" -lt 200000 ] && [ "$big" -gt 200000 ] ||
  fail "batch sizes $size and $big do not fit the test's bound"
for i in 1 2 3 4 5 6 7; do
  read -r status body < <(post_batch "$key" "$t_dir/b$i.json")
  [ "$status" = 202 ] || fail "batch $i: $status $body"
done

start_tally ingest
wait_for "SELECT count(*) FROM inventory_reports" 7 30
[ "$(sql "SELECT count(*) FROM process_events")" = $((6 * 150 + 500)) ] || fail "process events missing"
fetches=$(ingest_fetches 4)
[ "$fetches" = 4 ] || fail "expected 4 fetches (2 + 2 + 2 batches of $size bytes, then the big one), ingest made $fetches"
pass "six batches of $size bytes in fetches of two (bound 200000 bytes)"

[ "$(grep -c "a message of $big bytes is larger than TALLY_INGEST_FETCH_MAX_BYTES (200000): fetched alone" \
  "$t_dir/ingest.log")" = 1 ] || fail "no log line for the large message: $(grep warn "$t_dir/ingest.log" | tail -3)"
pass "a batch of $big bytes, larger than the bound, is fetched alone and stored"
