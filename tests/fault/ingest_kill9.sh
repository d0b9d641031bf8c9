#!/usr/bin/env bash
# Guarantees 1 and 2 under fire: while ~10,000 batches flow, `kill -9` the
# ingest process at random moments 20+ times and restart it, stop it with
# SIGTERM (it must exit 0, finishing its fetch and handing back the one its
# puller holds) after every fourth restart; then restart nats-server once.
# Afterwards the database holds exactly what JetStream accepted: one report
# row and one ledger row per stream message, no duplicates, nothing missing.
. "$(dirname "$0")/../lib/testlib.sh"

ulimit -n 8192
start_private_nats
load_setup
export TALLY_INGEST_ACK_WAIT_S=5 TALLY_INGEST_FETCH_BATCH=128
# Redeliveries after a kill come back after the ack wait, every time.
export TALLY_INGEST_REDELIVERY_BACKOFF_S=
start_tally serve
load_tenant "Chaos Corp"

"$TALLY_BIN" ingest >>"$t_dir/ingest.log" 2>&1 &
ingest_pid=$!

# Load in the background: unique batches for 12 s.
wrk -t2 -c32 -d12s -s "$root/bench/batch.lua" "$TALLY_URL/v1/agent/inventory" \
  >"$t_dir/wrk.out" 2>&1 &
wrk_pid=$!

kills=0
terms=0
while alive "$wrk_pid" || [ "$kills" -lt 20 ]; do
  sleep "0.$((RANDOM % 6 + 2))"
  kill -KILL "$ingest_pid"
  wait "$ingest_pid" 2>/dev/null || true
  kills=$((kills + 1))
  "$TALLY_BIN" ingest >>"$t_dir/ingest.log" 2>&1 &
  ingest_pid=$!
  if [ $((kills % 4)) = 0 ]; then
    sleep "0.$((RANDOM % 6 + 2))"
    kill -TERM "$ingest_pid"
    rc=0
    wait "$ingest_pid" || rc=$?
    [ "$rc" = 0 ] || fail "ingest exited $rc after SIGTERM during the load"
    terms=$((terms + 1))
    "$TALLY_BIN" ingest >>"$t_dir/ingest.log" 2>&1 &
    ingest_pid=$!
  fi
  if [ "$kills" = 10 ]; then # once, mid-stream: NATS itself restarts
    stop_private_nats
    sleep 1
    start_private_nats
  fi
done
wait "$wrk_pid" || true
t_pids+=("$ingest_pid")
grep -E 'requests in|non2xx' "$t_dir/wrk.out" || true
pass "$kills kill -9 and $terms SIGTERM (exit 0) of ingest, and one nats-server restart, during the load"

expected=$(stream_messages)
[ "$expected" -gt 1000 ] || fail "only $expected messages reached the stream"
wait_for "SELECT count(*) FROM inventory_reports" "$expected" 240
check_delta_rows "$expected"
pass "stream holds $expected batches; PostgreSQL has exactly $expected reports, all distinct, $expected ledger rows, and every table's rows for them"
