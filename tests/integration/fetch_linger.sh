#!/usr/bin/env bash
# When a fetch brought batches and left the stream empty, the worker lets
# the next ones gather for TALLY_INGEST_FETCH_LINGER_MS before it fetches
# again, so they share one transaction; a fetch of an empty stream does not
# linger (the first batch is stored at once).
. "$(dirname "$0")/../lib/testlib.sh"

export TALLY_INGEST_WORKERS=1 TALLY_INGEST_FETCH_LINGER_MS=3000
start_tally serve
start_tally ingest
tenant=$(new_tenant "Lingering")
key=$(new_agent_key "$tenant")
for i in 1 2 3 4 5; do
  jq --arg id "$(printf '1e9e0000-0000-4000-8000-%012d' "$i")" '.batch_id = $id' \
    "$root/schema/examples/valid/minimal.json" >"$t_dir/b$i.json"
done
post() {
  read -r status body < <(post_batch "$key" "$t_dir/b$1.json")
  [ "$status" = 202 ] || fail "batch $1: $status $body"
}

# The stream is empty: the first batch ends the fetch's wait and is stored
# well within the linger.
start=$(date +%s%N)
post 1
wait_for "SELECT count(*) FROM inventory_reports" 1 30
took_ms=$((($(date +%s%N) - start) / 1000000))
[ "$took_ms" -lt 2500 ] || fail "the first batch took $took_ms ms: a fetch of an empty stream lingered"
pass "the first batch is stored in $took_ms ms"

# Four more while the worker lingers after that fetch: one fetch takes them all.
for i in 2 3 4 5; do post "$i"; done
wait_for "SELECT count(*) FROM inventory_reports" 5 30
fetches=$(ingest_fetches 2)
[ "$fetches" = 2 ] || fail "expected 2 fetches (1, then 4 batches gathered while lingering), ingest made $fetches"
pass "four batches sent while the worker lingered are stored in one fetch"
