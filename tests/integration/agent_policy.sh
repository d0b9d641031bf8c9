#!/usr/bin/env bash
# GET /v1/agent/policy: authenticated, ETag + If-None-Match -> 304, and a
# jittered next_checkin_s so a fleet does not call back in lockstep.
. "$(dirname "$0")/../lib/testlib.sh"

export TALLY_POLICY_CHECKIN_S=300 TALLY_POLICY_JITTER_PCT=20
start_tally serve
tenant=$(new_tenant "Policy Co")
key=$(new_agent_key "$tenant")
url="$TALLY_URL/v1/agent/policy?agent_id=b0a7e9d2-41c3-4f58-8e6a-2c9d1f4b7a30"

status=$(curl -sS -o "$t_dir/o" -w '%{http_code}' "$url")
[ "$status" = 401 ] && [ "$(jq -r .type "$t_dir/o")" = urn:tally:problem:unauthorized ] ||
  fail "policy without a key: $status"
pass "policy needs the agent key (401 problem)"

status=$(curl -sS -D "$t_dir/h" -o "$t_dir/o" -w '%{http_code}' -H "Authorization: Bearer $key" "$url")
[ "$status" = 200 ] || fail "policy: $status $(cat "$t_dir/o")"
etag=$(grep -i '^etag:' "$t_dir/h" | cut -d' ' -f2- | tr -d '\r')
[[ "$etag" =~ ^W/\"[0-9a-f]{32}\"$ ]] || fail "ETag: '$etag'"
[ "$(jq -r '.collectors.software.enabled, .collectors.metrics.interval_s' "$t_dir/o" | tr '\n' ' ')" = "true 60 " ] ||
  fail "policy body: $(cat "$t_dir/o")"
n=$(jq -r .next_checkin_s "$t_dir/o")
[ "$n" -ge 240 ] && [ "$n" -le 360 ] || fail "next_checkin_s $n outside 300 +/- 20%"
grep -qi "^cache-control: private, max-age=$n" "$t_dir/h" || fail "Cache-Control should carry max-age=$n"
pass "200 with weak ETag $etag, collectors, next_checkin_s=$n"

rm -f "$t_dir/o" # curl leaves the file alone when no body arrives
status=$(curl -sS -D "$t_dir/h" -o "$t_dir/o" -w '%{http_code}' -H "Authorization: Bearer $key" \
  -H "If-None-Match: $etag" "$url")
[ "$status" = 304 ] || fail "If-None-Match: $status"; [ ! -s "$t_dir/o" ] || fail "304 with a body: $(od -c "$t_dir/o" | head -3)"
grep -qi "^etag: $etag" "$t_dir/h" || fail "304 without the ETag"
status=$(curl -sS -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $key" \
  -H 'If-None-Match: W/"0123456789abcdef0123456789abcdef"' "$url")
[ "$status" = 200 ] || fail "stale If-None-Match should give 200, got $status"
pass "If-None-Match with the current ETag -> 304 (empty), a stale one -> 200"

# Jitter: 30 fetches spread over the window, all inside it.
values=$(for i in $(seq 30); do
  curl -sS -H "Authorization: Bearer $key" "$url" | jq -r .next_checkin_s
done | sort -n)
distinct=$(uniq <<<"$values" | wc -l)
[ "$(head -1 <<<"$values")" -ge 240 ] && [ "$(tail -1 <<<"$values")" -le 360 ] || fail "jitter out of bounds: $values"
[ "$distinct" -ge 10 ] || fail "only $distinct distinct check-in times in 30 fetches"
pass "next_checkin_s: $distinct distinct values in 30 fetches, within 240..360"

status=$(curl -sS -o "$t_dir/o" -w '%{http_code}' -H "Authorization: Bearer $key" "$TALLY_URL/v1/agent/policy?agent_id=nope")
[ "$status" = 400 ] && [ "$(jq -r .type "$t_dir/o")" = urn:tally:problem:invalid-parameter ] ||
  fail "bad agent_id: $status"
pass "a malformed agent_id is a 400 problem"
