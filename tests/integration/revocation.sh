#!/usr/bin/env bash
# Two serve replicas cache an agent key; `tally admin revoke-api-key` makes
# both refuse it within 2 seconds (NATS broadcast), and a suspended tenant
# likewise.
. "$(dirname "$0")/../lib/testlib.sh"

port_a=$TALLY_HTTP_PORT
t_port port_b
start_tally serve
TALLY_HTTP_PORT=$port_b start_tally serve
tenant=$(new_tenant "Revokers")
key=$(new_agent_key "$tenant")
batch="$root/docs/examples/inventory-batch.json"

status_on() { # PORT -> HTTP status of a POST with $key
  curl -sS -o "$t_dir/o" -w '%{http_code}' -X POST "http://127.0.0.1:$1/v1/agent/inventory" \
    -H "Authorization: Bearer $key" -H 'Content-Type: application/json' --data-binary "@$batch"
}
for p in $port_a $port_b; do
  [ "$(status_on $p)" = 202 ] || fail "replica on $p did not accept the key: $(cat "$t_dir/o")"
done
pass "both replicas accept (and now cache) the key"

# ms_until_refused PORT STATUS: polls until the replica answers STATUS.
ms_until() {
  local start=$1 port=$2 want=$3 i
  for ((i = 0; i < 100; i++)); do
    [ "$(status_on "$port")" = "$want" ] && { echo $(( $(date +%s%3N) - start )); return; }
    sleep 0.02
  done
  fail "replica on $port still not answering $want after 2 s: $(cat "$t_dir/o")"
}

start=$(date +%s%3N)
out=$("$TALLY_BIN" admin revoke-api-key --key-id "${key:4:12}")
[ "$(jq -r .broadcast <<<"$out")" = true ] || fail "revocation not broadcast: $out"
a=$(ms_until "$start" $port_a 401)
b=$(ms_until "$start" $port_b 401)
grep -q revoked "$t_dir/o" || fail "401 should say revoked"
pass "revoked key refused by both replicas within 2 s (a: ${a} ms, b: ${b} ms after the admin command started)"

key=$(new_agent_key "$tenant")
for p in $port_a $port_b; do [ "$(status_on $p)" = 202 ] || fail "new key on $p"; done
start=$(date +%s%3N)
"$TALLY_BIN" admin set-tenant-status --tenant "$tenant" --status suspended >/dev/null
a=$(ms_until "$start" $port_a 403)
b=$(ms_until "$start" $port_b 403)
pass "suspended tenant refused by both replicas within 2 s (a: ${a} ms, b: ${b} ms)"
