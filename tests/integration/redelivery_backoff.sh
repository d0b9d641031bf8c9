#!/usr/bin/env bash
# The consumer ingest creates spaces the deliveries of a message nobody
# acknowledges as configured: the 1st redelivery after TALLY_INGEST_ACK_WAIT_S,
# then each TALLY_INGEST_REDELIVERY_BACKOFF_S step, the last repeating. So a
# message that crashes every ingest that takes it comes back ever more slowly
# instead of in a tight loop. The test stands in for a crashing ingest: it
# pulls the message from the consumer over the NATS protocol and never
# acknowledges it.
. "$(dirname "$0")/../lib/testlib.sh"

start_private_nats
export TALLY_INGEST_ACK_WAIT_S=1 TALLY_INGEST_REDELIVERY_BACKOFF_S=3 TALLY_INGEST_MAX_DELIVER=10
start_tally serve
tenant=$(new_tenant "Backoff Ltd")
key=$(new_agent_key "$tenant")

# ingest creates the consumer, then leaves (SIGTERM, exit 0).
"$TALLY_BIN" ingest >>"$t_dir/ingest.log" 2>&1 &
ingest_pid=$!
consumer_config() {
  curl -sS "http://127.0.0.1:$t_nats_monitor/jsz?consumers=true&config=true" |
    jq -c --arg s "$TALLY_STREAM_NAME" '[.account_details[]?.stream_detail[]? | select(.name == $s)
      | .consumer_detail[]? | select(.name == "tally-ingest") | .config][0] // empty'
}
for ((i = 0; i < 300; i++)); do
  [ -z "$(consumer_config)" ] || break
  sleep 0.1
done
[ -n "$(consumer_config)" ] || fail "ingest did not create its consumer within 30 s"
kill -TERM "$ingest_pid"
wait "$ingest_pid" || fail "ingest exited $? after SIGTERM"
backoff=$(consumer_config | jq -c '[.backoff[]? / 1000000000]')
[ "$backoff" = "[1,3]" ] || fail "consumer back-off $backoff, expected [1,3] s: $(consumer_config)"
[ "$(consumer_config | jq .max_deliver)" = 10 ] || fail "max_deliver: $(consumer_config)"
pass "the consumer waits 1 s (the ack wait), then 3 s per redelivery; at most 10 deliveries"

read -r status body < <(post_batch "$key" "$root/docs/examples/inventory-batch.json")
[ "$status" = 202 ] || fail "POST: $status $body"

# The deliveries' numbers come from their $JS.ACK reply subjects; status
# messages (a pull's timeout) carry no reply subject and are skipped.
nats_connect "$TALLY_NATS_URL" || fail "cannot reach nats-server"
printf 'SUB _pull.backoff 1\r\n' >&4
pull() {
  local req='{"batch":1,"expires":15000000000}'
  printf 'PUB $JS.API.CONSUMER.MSG.NEXT.%s.tally-ingest _pull.backoff %d\r\n%s\r\n' \
    "$TALLY_STREAM_NAME" "${#req}" "$req" >&4
}
# next_delivery: sets delivered and at_ms for the next message.
next_delivery() {
  local f
  while nats_next 20; do
    [ -n "$nats_reply" ] || continue
    at_ms=$(date +%s%3N)
    IFS=. read -r -a f <<<"$nats_reply"
    [ "${f[1]}" = ACK ] || fail "reply subject $nats_reply"
    delivered=${f[4]}
    return 0
  done
  fail "no delivery within 20 s"
}

times=()
for n in 1 2 3 4; do
  pull
  next_delivery
  [ "$delivered" = "$n" ] || fail "delivery $delivered, expected $n"
  times+=("$at_ms")
done
nats_close
gaps=$(awk -v a="${times[0]}" -v b="${times[1]}" -v c="${times[2]}" -v d="${times[3]}" \
  'BEGIN { printf "%.1f %.1f %.1f", (b - a) / 1000, (c - b) / 1000, (d - c) / 1000 }')
read -r g1 g2 g3 <<<"$gaps"
awk -v g1="$g1" -v g2="$g2" -v g3="$g3" \
  'BEGIN { exit !(g1 >= 0.8 && g1 < 2.5 && g2 >= 2.8 && g2 < 4.5 && g3 >= 2.8 && g3 < 4.5) }' ||
  fail "deliveries 2, 3 and 4 came ${g1}, ${g2} and ${g3} s after the one before; expected about 1, 3 and 3"
pass "unacknowledged, the message came back after ${g1} s, then ${g2} s, then ${g3} s"
