#!/usr/bin/env bash
# PostgreSQL restarts twice while batches flow: ingest holds what it fetched
# (no redelivery counted), reconnects, and in the end the database holds
# exactly the batches JetStream accepted.
. "$(dirname "$0")/../lib/testlib.sh"

start_private_nats
start_private_pg
load_setup
# A database outage must not consume deliveries (3, so no back-off steps either).
export TALLY_INGEST_MAX_DELIVER=3 TALLY_INGEST_REDELIVERY_BACKOFF_S=
start_tally serve
load_tenant "Restart AG"
start_tally ingest

# The key is cached by serve after its first use, so serve keeps accepting
# while PostgreSQL is down: that is the point of the queue in between.
read -r status body < <(post_batch "$TALLY_AGENT_KEY" "$TALLY_BATCH_FILE")
[ "$status" = 202 ] || fail "first batch: $status $body"

wrk -t2 -c16 -d14s -s "$root/bench/batch.lua" "$TALLY_URL/v1/agent/inventory" \
  >"$t_dir/wrk.out" 2>&1 &
wrk_pid=$!
for i in 1 2; do
  sleep 3
  stop_private_pg
  sleep 3
  start_private_pg
done
wait "$wrk_pid" || true
grep -E 'requests in|non2xx' "$t_dir/wrk.out" || true
pass "PostgreSQL restarted twice (down 3 s each time) during the load"

expected=$(stream_messages)
[ "$expected" -gt 500 ] || fail "only $expected messages reached the stream"
wait_for "SELECT count(*) FROM inventory_reports" "$expected" 240
check_delta_rows "$expected" # an outage must not dead-letter anything either
pass "stream holds $expected batches; PostgreSQL has exactly $expected distinct reports, every table's rows for them, no dead letters"
