#!/usr/bin/env bash
# 1,000 concurrent keep-alive connections posting batches while a handful of
# deliberately slow clients dribble their requests: every fast request is
# answered 202, and the slow ones do not hold anything up. (Ingestion is
# covered elsewhere; 202 already means JetStream has the batch.) wrk hangs up
# with hundreds of batches awaiting their PubAck: none stays counted as
# waiting, and serve stops at once.
. "$(dirname "$0")/../lib/testlib.sh"

ulimit -n 8192
load_setup
export TALLY_HTTP_TIMEOUT_S=10
start_tally serve
load_tenant "Crowd GmbH"

# Five slowloris clients: a request line and headers, one byte a second.
slow_pids=()
for i in 1 2 3 4 5; do
  (
    exec 3<>"/dev/tcp/127.0.0.1/$TALLY_HTTP_PORT"
    msg="POST /v1/agent/inventory HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
    for ((j = 0; j < ${#msg}; j++)); do printf '%s' "${msg:$j:1}" >&3 2>/dev/null || exit 0; sleep 1; done
  ) &
  slow_pids+=("$!")
done

wrk -t2 -c1000 -d8s --timeout 10s -s "$root/bench/batch.lua" "$TALLY_URL/v1/agent/inventory" \
  >"$t_dir/wrk.out" 2>&1 || fail "wrk failed: $(cat "$t_dir/wrk.out")"
for p in "${slow_pids[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
cat "$t_dir/wrk.out"

requests=$(awk '/requests in/ {print $1}' "$t_dir/wrk.out")
non2xx=$(awk -F= '/^LUA non2xx=/ {print $2}' "$t_dir/wrk.out")
grep -q 'Socket errors' "$t_dir/wrk.out" && fail "socket errors with 1,000 connections"
[ "$non2xx" = 0 ] || fail "$non2xx responses were not 2xx"
[ "$requests" -ge 2000 ] || fail "only $requests requests completed in 8 s"
pass "1,000 keep-alive connections + 5 slow clients: $requests batches, all 202, no socket errors"

suspended=""
for ((i = 0; i < 50; i++)); do
  suspended=$(curl -sS "$TALLY_URL/metrics" | awk '$1 == "tally_requests_suspended" { print $2 }')
  [ "$suspended" = 0 ] && break
  sleep 0.1
done
[ "$suspended" = 0 ] || fail "tally_requests_suspended is still $suspended 5 s after the clients left"
start_ms=$(date +%s%3N)
stop_tallies
took=$(($(date +%s%3N) - start_ms))
! grep -q 'still in flight' "$t_dir/serve.log" || fail "serve reported requests in flight at shutdown"
[ "$took" -lt 3000 ] || fail "serve took $took ms to stop"
pass "the clients hung up mid-request: no request left waiting, serve stopped in $took ms"
