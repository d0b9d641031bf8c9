#!/usr/bin/env bash
# Ingest's durable consumer deleted while ingest runs (an operator, or the
# stream recreated): a pull request to a missing consumer gets no answer
# at all, so without a check the workers would wait in silence while the
# stream fills. Ingest notices within its 10 s check, logs it, creates the
# consumer again, and the batch sent meanwhile is stored; the stream is
# delivered again from its start, and the ledger writes nothing twice.
. "$(dirname "$0")/../lib/testlib.sh"

start_tally serve
start_tally ingest
tenant=$(new_tenant "Gone Consumer")
key=$(new_agent_key "$tenant")
batch="$root/docs/examples/inventory-batch.json"
read -r status body < <(post_batch "$key" "$batch")
[ "$status" = 202 ] || fail "first batch: $status $body"
wait_for "SELECT count(*) FROM inventory_reports" 1 30

nats_request "$TALLY_NATS_URL" "\$JS.API.CONSUMER.DELETE.$TALLY_STREAM_NAME.tally-ingest" |
  jq -e '.success == true' >/dev/null || fail "could not delete ingest's consumer"
jq -c '.batch_id = "6f1e2d3c-4b5a-4978-8a1b-2c3d4e5f6a7b"' "$batch" >"$t_dir/b2.json"
read -r status body < <(post_batch "$key" "$t_dir/b2.json")
[ "$status" = 202 ] || fail "second batch: $status $body"
wait_for "SELECT count(*) FROM inventory_reports" 2 30
grep -q "consumer tally-ingest of stream $TALLY_STREAM_NAME is gone" "$t_dir/ingest.log" ||
  fail "ingest did not log the missing consumer"
grep -q '"consumer tally-ingest created again"' "$t_dir/ingest.log" || fail "no 'created again' logged"
[ "$(sql "SELECT count(*) FROM ingested_batches")" = 2 ] || fail "ledger: $(sql "SELECT count(*) FROM ingested_batches")"
for ((i = 0; i < 50; i++)); do
  [ "$(ingest_metric 'tally_ingest_messages_total{outcome="duplicate"}')" = 1 ] && break
  sleep 0.1
done
[ "$i" -lt 50 ] || fail "the first batch, delivered again, was not counted a duplicate"
pass "consumer deleted: created again within the check, the batch sent meanwhile stored, the first one skipped as a duplicate"
