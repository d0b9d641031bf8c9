#!/usr/bin/env bash
# Every way POST /v1/agent/inventory refuses a request: status, RFC 9457
# problem type, pointer where it applies; and the server keeps serving.
. "$(dirname "$0")/../lib/testlib.sh"

export TALLY_MAX_BODY_BYTES=524288
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
# Bytes that are not a valid JSON document: each a 400 with its own type.
post_raw() { printf "$1" >"$t_dir/raw"; shift; expect "$@" -- -X POST "$url" "${auth[@]}" "${json[@]}" --data-binary "@$t_dir/raw"; }
post_raw '{"batch_id": ' 400 malformed-json -
post_raw '{"a":1,"a":2}' 400 duplicate-key -
post_raw '{"a":"\xff\xfe"}' 400 invalid-utf8 -
post_raw '{"a":NaN}' 400 malformed-json -
post_raw '{"a":Infinity}' 400 malformed-json -
post_raw '{} trailing' 400 malformed-json -
post_raw "$(printf '[%.0s' {1..40})$(printf ']%.0s' {1..40})" 400 nesting-too-deep -
grep -q '"rule":"max_json_depth"' "$t_dir/o" || fail "nesting: rule"

# Schema violations: 422 with the keyword and the JSON pointer.
mutate() { jq -c "$1" "$batch" >"$t_dir/m.json"; shift; expect "$@" -- -X POST "$url" "${auth[@]}" "${json[@]}" --data-binary "@$t_dir/m.json"; }
mutate 'del(.batch_id)' 422 validation-failed ""
grep -q batch_id "$t_dir/o" || fail "required: detail should name batch_id"
mutate '.agent.id = "nope"' 422 validation-failed /agent/id
mutate '.schema_version = "2"' 422 validation-failed /schema_version
mutate '.tenant_id = "x"' 422 validation-failed ""
[ "$(jq -r .rule "$t_dir/o")" = additionalProperties ] || fail "unknown field: rule"
mutate '.device.hostname = ("H" * 300)' 422 validation-failed /device/hostname
[ "$(jq -r .rule "$t_dir/o")" = maxLength ] || fail "long hostname: rule"
mutate '.device.disks = [range(65) | {"mount": "C:"}]' 422 validation-failed /device/disks
[ "$(jq -r .rule "$t_dir/o")" = maxItems ] || fail "too many disks: rule"
mutate '.software[1].version = 23' 422 validation-failed /software/1/version
[ "$(jq -r .rule "$t_dir/o")" = type ] || fail "number as version: rule"
printf '[1,2]' >"$t_dir/arr"
expect 422 validation-failed "" -- -X POST "$url" "${auth[@]}" "${json[@]}" --data-binary "@$t_dir/arr"

# Every example document of the schema, through the live server: the valid
# ones are accepted, each invalid one is refused with its expected keyword
# and pointer (schema/examples/invalid/expected.tsv).
n=0
for f in "$root"/schema/examples/valid/*.json; do
  read -r status body < <(post_batch "$key" "$f")
  [ "$status" = 202 ] || fail "valid example $(basename "$f"): $status $body"
  n=$((n + 1))
done
pass "$n valid schema examples accepted"
n=0
while IFS=$'\t' read -r file keyword pointer; do
  [ "$file" = file ] && continue
  read -r status body < <(post_batch "$key" "$root/schema/examples/invalid/$file")
  [ "$status" = 422 ] && [ "$(jq -r .rule <<<"$body")" = "$keyword" ] &&
    [ "$(jq -r .pointer <<<"$body")" = "$pointer" ] || fail "invalid example $file: $status $body"
  n=$((n + 1))
done <"$root/schema/examples/invalid/expected.tsv"
pass "$n invalid schema examples refused with the expected rule and pointer"

# Declared too large: refused from the headers; streamed too large
# (chunked, no Content-Length): refused when the body ends.
head -c 530000 /dev/zero | tr '\0' ' ' >"$t_dir/big"
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
# More values than any valid batch can hold (the schema's maxItems bound
# them): the parse stops at the bound, before the tree costs 24 bytes per
# 2-byte value, and says so. Fewer values reach the schema as usual.
many_values() {
  awk -v n="$1" 'BEGIN { srand(1); printf "{\"x\":["; for (i = 0; i < n; i++) printf "%d,", int(rand() * 2); printf "0]}" }'
}
many_values 400000 | gzip -c >"$t_dir/many.gz"
expect 413 too-many-values - -- -X POST "$url" "${auth[@]}" "${json[@]}" -H 'Content-Encoding: gzip' --data-binary "@$t_dir/many.gz"
[ "$(jq -r .rule "$t_dir/o")" = max_values ] || fail "too-many-values: rule $(jq -r .rule "$t_dir/o")"
many_values 1000 | gzip -c >"$t_dir/some.gz"
expect 422 validation-failed "" -- -X POST "$url" "${auth[@]}" "${json[@]}" -H 'Content-Encoding: gzip' --data-binary "@$t_dir/some.gz"
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

# A suspended tenant's keys stop working (the broadcast evicts the cached
# key; tests/integration/revocation.sh times it).
"$TALLY_BIN" admin set-tenant-status --tenant "$tenant" --status suspended >/dev/null
sleep 0.5
expect 403 tenant-suspended - -- -X POST "$url" "${auth[@]}" "${json[@]}" --data-binary "@$batch"
