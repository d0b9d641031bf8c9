#!/usr/bin/env bash
# serve's metrics on a listener of their own (TALLY_METRICS_PORT), so they
# can be kept off the network agents reach: /metrics answers there, the API
# port answers 404 for it, and the counts are the API's.
. "$(dirname "$0")/../lib/testlib.sh"

t_port mport
TALLY_METRICS_ADDR=127.0.0.1 TALLY_METRICS_PORT=$mport start_tally serve
tenant=$(new_tenant "Metrics Elsewhere")
key=$(new_agent_key "$tenant")
read -r status body < <(post_batch "$key" "$root/docs/examples/inventory-batch.json")
[ "$status" = 202 ] || fail "batch: $status $body"

read -r code type < <(curl -sS -o "$t_dir/api" -w '%{http_code} %{content_type}\n' "$TALLY_URL/metrics")
[ "$code $type" = "404 application/problem+json" ] || fail "API /metrics: $code $type"
metrics=$(curl -sS "http://127.0.0.1:$mport/metrics")
grep -q '^tally_http_requests_total{route="agent_inventory",status="202"} 1$' <<<"$metrics" ||
  fail "the listener's metrics lack the 202: $(grep agent_inventory <<<"$metrics" | head -3)"
[ "$(curl -sS -o /dev/null -w '%{http_code}' "http://127.0.0.1:$mport/healthz")" = 200 ] || fail "healthz"
[ "$(curl -sS -o /dev/null -w '%{http_code}' -X POST "http://127.0.0.1:$mport/metrics")" = 405 ] ||
  fail "POST /metrics should be 405"
pass "TALLY_METRICS_PORT: /metrics (with the API's counts) on its own listener, 404 on the API port"
