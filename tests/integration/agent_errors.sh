#!/usr/bin/env bash
# Every way POST /v1/agent/inventory refuses a request: status, RFC 9457
# problem type, pointer where it applies; and the server keeps serving.
. "$(dirname "$0")/../lib/testlib.sh"

export TALLY_MAX_BODY_BYTES=65536
start_tally serve
tenant=$(new_tenant "Errors Inc")
key=$(new_agent_key "$tenant")
batch="$root/docs/examples/inventory-batch.json"
url="$TALLY_URL/v1/agent/inventory"

# expect STATUS SLUG [POINTER] -- curl args...: checks status, content type,
# problem type and (optionally) pointer.
expect() {
  local want_status=$1 slug=$2 pointer=$3
  shift 4
  local headers="$t_dir/h" out="$t_dir/o" status
  status=$(curl -sS -D "$headers" -o "$out" -w '%{http_code}' "$@")
  [ "$status" = "$want_status" ] || fail "$slug: status $status, body $(cat "$out")"
  grep -qi '^content-type: application/problem+json' "$headers" || fail "$slug: not problem+json"
  [ "$(jq -r .type "$out")" = "urn:tally:problem:$slug" ] || fail "$slug: type $(jq -r .type "$out")"
  [ "$(jq -r .status "$out")" = "$want_status" ] || fail "$slug: status member"
  [ -n "$(jq -r '.detail // empty' "$out")" ] || fail "$slug: no detail"
  if [ "$pointer" != - ]; then
    [ "$(jq -r .pointer "$out")" = "$pointer" ] || fail "$slug: pointer $(jq -r .pointer "$out")"
  fi
  pass "$want_status $slug ${pointer/-/}"
}
json=(-H 'Content-Type: application/json')

expect 401 unauthorized - -- -X POST "$url" "${json[@]}" --data-binary "@$batch"
expect 401 unauthorized - -- -X POST "$url" "${json[@]}" -H "Authorization: Bearer tly_short" --data-binary "@$batch"
expect 401 unauthorized - -- -X POST "$url" "${json[@]}" -H "Authorization: Basic dXNlcjpwYXNz" --data-binary "@$batch"
unknown="tly_AAAAAAAAAAAA_$(head -c 43 /dev/zero | tr '\0' 'B')"
expect 401 unauthorized - -- -X POST "$url" "${json[@]}" -H "Authorization: Bearer $unknown" --data-binary "@$batch"
# Right id, wrong secret.
forged="${key:0:17}$(head -c 43 /dev/zero | tr '\0' 'C')"
expect 401 unauthorized - -- -X POST "$url" "${json[@]}" -H "Authorization: Bearer $forged" --data-binary "@$batch"
grep -q 'WWW-Authenticate: Bearer' "$t_dir/h" || fail "401 without WWW-Authenticate"

revoked=$(new_agent_key "$tenant")
"$TALLY_BIN" admin revoke-api-key --key-id "${revoked:4:12}" >/dev/null
expect 401 unauthorized - -- -X POST "$url" "${json[@]}" -H "Authorization: Bearer $revoked" --data-binary "@$batch"
grep -q revoked "$t_dir/o" || fail "revoked key: detail should say so"
expired=$("$TALLY_BIN" admin create-api-key --tenant "$tenant" --expires-days 0 | jq -r .key)
expect 401 unauthorized - -- -X POST "$url" "${json[@]}" -H "Authorization: Bearer $expired" --data-binary "@$batch"
grep -q expired "$t_dir/o" || fail "expired key: detail should say so"
readonly_key=$("$TALLY_BIN" admin create-api-key --tenant "$tenant" --scopes reports | jq -r .key)
expect 403 forbidden - -- -X POST "$url" "${json[@]}" -H "Authorization: Bearer $readonly_key" --data-binary "@$batch"

auth=(-H "Authorization: Bearer $key")
expect 415 unsupported-media-type - -- -X POST "$url" "${auth[@]}" -H 'Content-Type: text/plain' --data-binary "@$batch"
expect 415 unsupported-encoding - -- -X POST "$url" "${auth[@]}" "${json[@]}" -H 'Content-Encoding: br' --data-binary "@$batch"
expect 400 malformed-json - -- -X POST "$url" "${auth[@]}" "${json[@]}" --data-binary '{"batch_id": '
expect 400 malformed-json - -- -X POST "$url" "${auth[@]}" "${json[@]}" --data-binary '{"a":1,"a":2}'
expect 422 validation-failed "/batch_id" -- -X POST "$url" "${auth[@]}" "${json[@]}" \
  --data-binary '{"schema_version":"1","agent":{"id":"b0a7e9d2-41c3-4f58-8e6a-2c9d1f4b7a30"},"device":{"hostname":"h"}}'
expect 422 validation-failed "/agent/id" -- -X POST "$url" "${auth[@]}" "${json[@]}" \
  --data-binary '{"schema_version":"1","batch_id":"3f6c1a52-8d4e-4b7a-9c21-5e0f7a9b2d41","agent":{"id":"nope"},"device":{"hostname":"h"}}'
expect 422 validation-failed "/schema_version" -- -X POST "$url" "${auth[@]}" "${json[@]}" --data-binary '{"schema_version":"2"}'
expect 422 validation-failed "" -- -X POST "$url" "${auth[@]}" "${json[@]}" --data-binary '[1,2]'

# Declared too large: refused from the headers; streamed too large
# (chunked, no Content-Length): refused when the body ends.
head -c 70000 /dev/zero | tr '\0' ' ' >"$t_dir/big"
expect 413 body-too-large - -- -X POST "$url" "${auth[@]}" "${json[@]}" --data-binary "@$t_dir/big"
expect 413 body-too-large - -- -X POST "$url" "${auth[@]}" "${json[@]}" -H 'Transfer-Encoding: chunked' --data-binary "@$t_dir/big"

# gzip: a good batch passes; a bomb (50 MiB of zeros in ~50 KiB) is refused
# at the ratio cap without the server's peak memory moving by more than the
# decompression cap (4 MiB default, plus sanitizer overhead).
gzip -c "$batch" >"$t_dir/batch.gz"
read -r status body < <(post_batch "$key" "$t_dir/batch.gz" -H 'Content-Encoding: gzip')
[ "$status" = 202 ] || fail "gzip batch: $status $body"
pass "gzip batch accepted"
head -c $((50 << 20)) /dev/zero | gzip -9 >"$t_dir/bomb.gz"
serve_pid=${t_pids[0]}
hwm() { awk '/^VmHWM/ {print $2}' "/proc/$serve_pid/status"; }
before=$(hwm)
for i in 1 2 3; do
  expect 413 compression-ratio-too-high - -- -X POST "$url" "${auth[@]}" "${json[@]}" -H 'Content-Encoding: gzip' --data-binary "@$t_dir/bomb.gz"
done
after=$(hwm)
[ $((after - before)) -lt 20480 ] || fail "gzip bomb raised serve's peak RSS by $((after - before)) KiB"
pass "gzip bomb: peak RSS ${before} KiB -> ${after} KiB"
printf 'not gzip at all' >"$t_dir/fake.gz"
expect 400 malformed-gzip - -- -X POST "$url" "${auth[@]}" "${json[@]}" -H 'Content-Encoding: gzip' --data-binary "@$t_dir/fake.gz"

expect 404 not-found - -- "$TALLY_URL/v1/nothing-here"
expect 405 method-not-allowed - -- -X GET "$url"

# After all of that the server still answers, and a good batch still passes.
[ "$(curl -sS "$TALLY_URL/healthz" | jq -r .status)" = ok ] || fail "healthz"
[ "$(curl -sS -o /dev/null -w '%{http_code}' "$TALLY_URL/readyz")" = 200 ] || fail "readyz"
read -r status body < <(post_batch "$key" "$batch")
[ "$status" = 202 ] || fail "good batch after errors: $status $body"
pass "server healthy, ready and accepting after every error"

# A suspended tenant's keys stop working.
"$TALLY_BIN" admin set-tenant-status --tenant "$tenant" --status suspended >/dev/null
expect 403 tenant-suspended - -- -X POST "$url" "${auth[@]}" "${json[@]}" --data-binary "@$batch"
