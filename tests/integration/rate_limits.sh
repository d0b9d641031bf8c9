#!/usr/bin/env bash
# Token buckets: per key, then per tenant. A flooding tenant gets 429 with
# Retry-After while another tenant's agents are still served.
. "$(dirname "$0")/../lib/testlib.sh"

export TALLY_RATE_KEY_PER_S=1 TALLY_RATE_KEY_BURST=5
export TALLY_RATE_TENANT_PER_S=1 TALLY_RATE_TENANT_BURST=8
export TALLY_AUTH_LOOKUPS_PER_S=3
start_tally serve
flood=$(new_tenant "Flood Ltd")
calm=$(new_tenant "Calm plc")
flood_key1=$(new_agent_key "$flood")
flood_key2=$(new_agent_key "$flood")
calm_key=$(new_agent_key "$calm")
batch="$root/docs/examples/inventory-batch.json"

codes() { # KEY N -> the N status codes, space-separated
  local i
  for ((i = 0; i < $2; i++)); do
    curl -sS -o "$t_dir/o" -D "$t_dir/h" -w '%{http_code} ' -X POST "$TALLY_URL/v1/agent/inventory" \
      -H "Authorization: Bearer $1" -H 'Content-Type: application/json' --data-binary "@$batch"
  done
}

got=$(codes "$flood_key1" 7)
[ "$got" = "202 202 202 202 202 429 429 " ] || fail "per-key bucket (burst 5): $got"
[ "$(jq -r .type "$t_dir/o")" = urn:tally:problem:rate-limited ] || fail "429 problem type"
grep -qi '^retry-after: [1-9]' "$t_dir/h" || fail "429 without Retry-After"
grep -q 'this API key' "$t_dir/o" || fail "429 should name the key's bucket"
pass "per-key bucket: burst 5 accepted, then 429 with Retry-After"

# The tenant's bucket (burst 8) has 3 tokens left: a second key of the same
# tenant gets those, then 429 naming the tenant.
got=$(codes "$flood_key2" 5)
[ "$got" = "202 202 202 429 429 " ] || fail "per-tenant bucket (burst 8): $got"
grep -q 'this tenant' "$t_dir/o" || fail "429 should name the tenant's bucket"
pass "per-tenant bucket spans the tenant's keys"

# Meanwhile the other tenant is unaffected.
got=$(codes "$calm_key" 5)
[ "$got" = "202 202 202 202 202 " ] || fail "calm tenant starved: $got"
pass "another tenant's agents are still served"

# Honouring Retry-After works: after it, the flooding key is accepted again.
sleep "$(grep -i '^retry-after:' "$t_dir/h" | tr -dc 0-9 || echo 1)"
sleep 1
got=$(codes "$flood_key1" 1)
[ "$got" = "202 " ] || fail "after Retry-After: $got"
pass "accepted again after Retry-After"

# A flood of made-up keys: one unknown id repeated is looked up once (the
# negative cache), and distinct ids are rationed (TALLY_AUTH_LOOKUPS_PER_S)
# so PostgreSQL is not asked per request; a known key keeps working.
metric() { curl -sS "$TALLY_URL/metrics" | grep -v '^#' | grep -F "$1 " | awk '{print $NF}'; }
misses_before=$(metric 'tally_auth_cache_lookups_total{result="miss"}')
fake="tly_FAKEFAKEFAKE_$(head -c 43 /dev/zero | tr '\0' 'F')"
got=$(codes "$fake" 10)
[ "$got" = "401 401 401 401 401 401 401 401 401 401 " ] || fail "unknown key: $got"
misses_after=$(metric 'tally_auth_cache_lookups_total{result="miss"}')
[ $((misses_after - misses_before)) = 1 ] || fail "one unknown key looked up $((misses_after - misses_before)) times"
pass "an unknown key sent 10 times reaches PostgreSQL once"

statuses=""
for i in $(seq 20); do
  k="tly_$(printf 'Fake%08d' "$i")_$(head -c 43 /dev/zero | tr '\0' 'G')"
  statuses+="$(codes "$k" 1)"
done
n401=$(grep -o 401 <<<"$statuses" | wc -l)
n429=$(grep -o 429 <<<"$statuses" | wc -l)
[ "$n429" -ge 10 ] && [ $((n401 + n429)) = 20 ] || fail "20 distinct unknown keys: $statuses"
got=$(codes "$calm_key" 1)
[ "$got" = "202 " ] || fail "known key during the flood: $got"
pass "20 distinct unknown keys: $n401 looked up, $n429 refused with 429 before PostgreSQL; a known key still 202"
