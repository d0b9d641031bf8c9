#!/usr/bin/env bash
# NATS goes away: serve answers 503 + Retry-After (never 202 for a batch
# JetStream does not have) and /readyz says not ready; NATS comes back:
# 202s resume without restarting serve, and a retried batch is not doubled.
. "$(dirname "$0")/../lib/testlib.sh"

start_private_nats
export TALLY_PUBLISH_TIMEOUT_MS=1000
start_tally serve
tenant=$(new_tenant "Outage Inc")
key=$(new_agent_key "$tenant")
batch="$root/docs/examples/inventory-batch.json"

for ((i = 0; i < 50; i++)); do
  [ "$(curl -sS -o /dev/null -w '%{http_code}' "$TALLY_URL/readyz")" = 200 ] && break
  sleep 0.1
done
read -r status body < <(post_batch "$key" "$batch")
[ "$status" = 202 ] || fail "before the outage: $status $body"
pass "202 while NATS is up"

stop_private_nats
jq -c '.batch_id = "0d9f5a4e-6b1c-4e7a-8f20-3c5b7d9e1a24"' "$batch" >"$t_dir/b2.json"
start_ms=$(date +%s%3N)
status=$(curl -sS -D "$t_dir/h" -o "$t_dir/o" -w '%{http_code}' -X POST "$TALLY_URL/v1/agent/inventory" \
  -H "Authorization: Bearer $key" -H 'Content-Type: application/json' --data-binary "@$t_dir/b2.json")
took=$(( $(date +%s%3N) - start_ms ))
[ "$status" = 503 ] || fail "NATS down: expected 503, got $status $(cat "$t_dir/o")"
[ "$(jq -r .type "$t_dir/o")" = urn:tally:problem:queue-unavailable ] || fail "503 type: $(cat "$t_dir/o")"
grep -qi '^retry-after: [1-9]' "$t_dir/h" || fail "503 without Retry-After"
[ "$took" -lt 5000 ] || fail "503 took $took ms"
[ "$(curl -sS -o /dev/null -w '%{http_code}' "$TALLY_URL/readyz")" = 503 ] || fail "readyz while NATS is down"
pass "NATS down: 503 queue-unavailable with Retry-After in $took ms; /readyz 503"

start_private_nats
ok=""
for ((i = 0; i < 300; i++)); do
  read -r status body < <(post_batch "$key" "$t_dir/b2.json")
  if [ "$status" = 202 ]; then ok=$body; break; fi
  sleep 0.1
done
[ -n "$ok" ] || fail "no 202 within 30 s after NATS came back (last: $status $body)"
[ "$(curl -sS -o /dev/null -w '%{http_code}' "$TALLY_URL/readyz")" = 200 ] || fail "readyz after recovery"
pass "NATS back: 202 again after $((i / 10)).$((i % 10)) s without restarting serve ($ok)"

# The same batch again: JetStream already has it (whether or not the
# refused attempt's buffered publish went out, it holds it once now).
read -r status body < <(post_batch "$key" "$t_dir/b2.json")
[ "$status" = 202 ] && [ "$(jq -r .duplicate <<<"$body")" = true ] || fail "retry after recovery: $status $body"
pass "retrying the refused batch after recovery is a duplicate, not a second copy"

# The outage was logged once; serve's own clean shutdown is not a disconnection.
stop_tally "${t_pids[@]}"
n=$(grep -c '"NATS disconnected"' "$t_dir/serve.log" || true)
[ "$n" = 1 ] || fail "serve logged 'NATS disconnected' $n times, expected 1 (the outage, not the shutdown)"
pass "the outage logged as a disconnection once, the shutdown not"
