#!/usr/bin/env bash
# Token buckets: per key, then per tenant. A flooding tenant gets 429 with
# Retry-After while another tenant's agents are still served.
. "$(dirname "$0")/../lib/testlib.sh"

export TALLY_RATE_KEY_PER_S=1 TALLY_RATE_KEY_BURST=5
export TALLY_RATE_TENANT_PER_S=1 TALLY_RATE_TENANT_BURST=8
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
