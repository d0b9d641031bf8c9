#!/usr/bin/env bash
# serve and ingest started before nats-server, with NATS's address held by
# something that accepts connections and never speaks (a mesh proxy with
# NATS down): both come up (serve listens, /healthz 200, /readyz 503, a
# batch 503 queue-unavailable) and say in their logs that NATS is not
# reachable yet; SIGTERM stops them cleanly while they wait (nothing
# listening then); once nats-server starts, a batch goes end to end without
# restarting either. (libnats 3.4.1's own retry either hung inside the
# connect call, silent and deaf to SIGTERM, or, in the background, gave up
# for good after the silent listener.)
. "$(dirname "$0")/../lib/testlib.sh"

t_port t_nats_port # start_private_nats will use it
export TALLY_NATS_URL="nats://127.0.0.1:$t_nats_port" TALLY_PUBLISH_TIMEOUT_MS=1000
tenant=$(new_tenant "Early Birds")
key=$(new_agent_key "$tenant")
batch="$root/docs/examples/inventory-batch.json"
node -e "require('net').createServer((s) => s.on('error', () => {})).listen($t_nats_port, '127.0.0.1')" &
silent=$!
wait_port "$t_nats_port" 10 || fail "the silent listener did not start"
start_tally serve
start_tally ingest

code() { curl -sS -o /dev/null -w '%{http_code}' "$TALLY_URL$1"; }
[ "$(code /healthz)" = 200 ] || fail "/healthz without NATS: $(code /healthz)"
[ "$(code /readyz)" = 503 ] || fail "/readyz without NATS: $(code /readyz)"
read -r status body < <(post_batch "$key" "$batch")
[ "$status" = 503 ] && [ "$(jq -r .type <<<"$body")" = urn:tally:problem:queue-unavailable ] ||
  fail "a batch without NATS: $status $body"
for p in serve ingest; do
  for ((i = 0; i < 50; i++)); do
    grep -q 'is not reachable yet (.*); retrying in the background' "$t_dir/$p.log" && break
    sleep 0.1
  done
  [ "$i" -lt 50 ] || fail "$p did not log that NATS is not reachable: $(cat "$t_dir/$p.log")"
done
pass "serve and ingest up without NATS: /healthz 200, /readyz 503, a batch 503; both logged it"

kill -TERM "$silent"
wait "$silent" || true
"$TALLY_BIN" ingest >>"$t_dir/ingest2.log" 2>&1 &
second=$!
t_port port2
TALLY_HTTP_PORT=$port2 "$TALLY_BIN" serve >>"$t_dir/serve2.log" 2>&1 &
third=$!
sleep 1
stop_tally "$second" "$third"
pass "SIGTERM stops ingest and serve while they wait for NATS (exit 0)"

start_private_nats
for ((i = 0; i < 300; i++)); do
  [ "$(code /readyz)" = 200 ] && break
  sleep 0.1
done
[ "$i" -lt 300 ] || fail "/readyz not 200 within 30 s of nats-server starting"
read -r status body < <(post_batch "$key" "$batch")
[ "$status" = 202 ] || fail "a batch once NATS is up: $status $body"
wait_for "SELECT count(*) FROM inventory_reports" 1 30
for p in serve ingest; do
  grep -q '"NATS connected"' "$t_dir/$p.log" || fail "$p did not log 'NATS connected'"
done
# The control broadcasts reach the serve that subscribed late: a revoked key
# is refused at once (the cache would keep it for TALLY_AUTH_CACHE_TTL_S).
"$TALLY_BIN" admin revoke-api-key --key-id "${key:4:12}" >"$t_dir/revoke.json"
[ "$(jq -r .broadcast "$t_dir/revoke.json")" = true ] || fail "revocation not broadcast: $(cat "$t_dir/revoke.json")"
for ((i = 0; i < 20; i++)); do
  read -r status body < <(post_batch "$key" "$batch")
  [ "$status" = 401 ] && break
  sleep 0.1
done
[ "$status" = 401 ] || fail "revoked key still accepted after 2 s: $status $body"
pass "nats-server started: /readyz 200 after $((i / 10)).$((i % 10)) s, the batch stored, neither restarted"
