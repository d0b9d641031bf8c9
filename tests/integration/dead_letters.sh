#!/usr/bin/env bash
# A batch the schema accepts but PostgreSQL cannot store (the year 0000: valid
# RFC 3339, but PostgreSQL has no year zero) is a poison message: it lands in dead_letters (reason, tenant, original bytes)
# and in the dead-letter stream, exactly once, and the batches sent after it
# are ingested normally.
. "$(dirname "$0")/../lib/testlib.sh"

start_private_nats
start_tally ingest
start_tally serve
tenant=$(new_tenant "Poison Pen")
key=$(new_agent_key "$tenant")
batch="$root/docs/examples/inventory-batch.json"

jq -c '.batch_id = "11111111-1111-4111-8111-111111111111"' "$batch" >"$t_dir/a.json"
jq -c '.batch_id = "22222222-2222-4222-8222-222222222222" | .sent_at = "0000-01-01T10:00:00Z"' "$batch" >"$t_dir/poison.json"
jq -c '.batch_id = "33333333-3333-4333-8333-333333333333"' "$batch" >"$t_dir/b.json"
for f in a poison b; do
  read -r status body < <(post_batch "$key" "$t_dir/$f.json")
  [ "$status" = 202 ] || fail "$f: $status $body"
done
pass "all three batches accepted (the poison one is valid JSON Schema-wise)"

wait_for "SELECT count(*) FROM inventory_reports" 2 30
wait_for "SELECT count(*) FROM dead_letters" 1 30
[ "$(sql "SELECT string_agg(batch_id::text, ',' ORDER BY batch_id) FROM inventory_reports")" = \
  "11111111-1111-4111-8111-111111111111,33333333-3333-4333-8333-333333333333" ] || fail "wrong reports stored"
pass "the batches before and after the poison one are stored"

row=$(sql "SELECT tenant_id, reason LIKE '%out of range%', md5(payload), stream_seq
             FROM dead_letters")
[ "$row" = "$tenant|t|$(md5sum <"$t_dir/poison.json" | cut -d' ' -f1)|2" ] || fail "dead letter row: $row"
pass "dead_letters: tenant, reason ($(sql "SELECT reason FROM dead_letters" | cut -c1-70)...), original payload"

dlq=$(curl -sS "http://127.0.0.1:$t_nats_monitor/jsz?streams=true" |
  jq -r --arg s "${TALLY_STREAM_NAME}_DLQ" '[.account_details[]?.stream_detail[]? | select(.name == $s) | .state.messages] | add // 0')
[ "$dlq" = 1 ] || fail "dead-letter stream holds $dlq messages"
pass "the dead-letter stream holds the poison message once"
