#!/usr/bin/env bash
# A device row holds the facts of its newest batch by receive time: of
# several batches in one fetch, the last received (ingest stages one row per
# device); a batch received earlier that arrives late (a redelivery) stores
# its report and events but leaves the facts alone; a newer one replaces
# them. last_seen follows the facts' batch. A fetch that holds a batch
# stored before next to a new one stores the new one once and the old one
# not again (the ledger's path for keys it has).
. "$(dirname "$0")/../lib/testlib.sh"

start_private_nats # the late batch is published to it directly
start_tally serve
tenant=$(new_tenant "Facts")
key=$(new_agent_key "$tenant")
base="$root/docs/examples/inventory-batch.json"
agent=$(jq -r .agent.id "$base")

# Batch N's id; later batches get smaller ids, so that the order of the
# keys (by which ingest sorts a fetch) is not the order of receipt.
id() { printf '6b6b6b6b-0000-4000-8000-%012d' $((100 - $1)); }
batch() { # N HOSTNAME: a batch of the example's device, without the sets
  jq --arg id "$(id "$1")" --arg h "$2" \
    '.batch_id = $id | .device.hostname = $h | del(.software, .patches)' "$base" >"$t_dir/b$1.json"
}
post() { # N
  read -r status body < <(post_batch "$key" "$t_dir/b$1.json")
  [ "$status" = 202 ] || fail "batch $1: $status $body"
}
facts() { # N: the hostname, and whether last_seen is batch N's receive time
  sql "SELECT d.hostname, d.last_seen = (SELECT received_at FROM inventory_reports r
                                          WHERE r.batch_id = '$(id "$1")')
         FROM devices d WHERE d.agent_id = '$agent'"
}

# Two batches of the device in one fetch: ingest starts after both are in
# the stream.
batch 1 FACTS-FIRST
batch 2 FACTS-SECOND
post 1
post 2
start_tally ingest
wait_for "SELECT count(*) FROM inventory_reports" 2 30
[ "$(sql "SELECT count(*) FROM devices")" = 1 ] || fail "one device expected"
[ "$(facts 2)" = "FACTS-SECOND|t" ] || fail "after one fetch of two batches: $(facts 2)"
pass "of two batches in one fetch, the device holds the later one's facts and receive time"

# A batch received an hour before the others, arriving now (as a
# redelivery would), published straight to the stream with its receive
# time in the header serve sets.
batch 3 FACTS-STALE
old_us=$(sql "SELECT ((extract(epoch FROM min(received_at)) - 3600) * 1000000)::bigint FROM inventory_reports")
publish() { # N RECEIVED_US: batch N straight to the stream, received then
  nats_connect "nats://127.0.0.1:$t_nats_port" &&
    nats_pub "$TALLY_SUBJECT_PREFIX.$tenant" "$t_dir/b$1.json" "Tally-Received-At: $2" ||
    fail "nats-server did not take batch $1"
  nats_close
}
publish 3 "$old_us"
wait_for "SELECT count(*) FROM inventory_reports" 3 30
[ "$(sql "SELECT (extract(epoch FROM received_at) * 1000000)::bigint FROM inventory_reports
           WHERE batch_id = '$(id 3)'")" = "$old_us" ] ||
  fail "the late batch's report does not carry its receive time"
[ "$(facts 2)" = "FACTS-SECOND|t" ] || fail "a batch received earlier overwrote the facts: $(facts 2)"
pass "a batch received earlier that arrives late stores its report, not its facts"

batch 4 FACTS-FOURTH
post 4
wait_for "SELECT count(*) FROM inventory_reports" 4 30
[ "$(facts 4)" = "FACTS-FOURTH|t" ] || fail "a newer batch did not replace the facts: $(facts 4)"
[ "$(sql "SELECT count(*) FROM dead_letters")" = 0 ] || fail "a batch was dead-lettered"
pass "a newer batch replaces the facts"

# A fetch that holds a batch stored before (as a redelivery after a crash,
# or an agent's re-send past serve's dedup window, would bring it) next to
# a new one: ingest's COPY into the ledger is refused, and the ledger's
# per-key path stores the new batch and skips the old one.
stop_tally "${t_pids[1]}"
publish 1 "$(sql "SELECT (extract(epoch FROM received_at) * 1000000)::bigint FROM inventory_reports
                   WHERE batch_id = '$(id 1)'")"
batch 5 FACTS-FIFTH
post 5
start_tally ingest
wait_for "SELECT count(*) FROM inventory_reports" 5 30
duplicates=""
for ((i = 0; i < 50; i++)); do
  duplicates=$(ingest_metric 'tally_ingest_messages_total{outcome="duplicate"}')
  [ "$duplicates" = 1 ] && break
  sleep 0.1
done
[ "$duplicates" = 1 ] || fail "ingest counted $duplicates duplicates, expected 1"
[ "$(sql "SELECT count(*) FROM ingested_batches")" = 5 ] || fail "ledger rows: $(sql "SELECT count(*) FROM ingested_batches")"
[ "$(sql "SELECT count(*) FROM inventory_reports WHERE batch_id = '$(id 1)'")" = 1 ] ||
  fail "the batch stored before was stored again"
[ "$(facts 5)" = "FACTS-FIFTH|t" ] || fail "the new batch's facts: $(facts 5)"
[ "$(sql "SELECT count(*) FROM dead_letters")" = 0 ] || fail "a batch was dead-lettered"
pass "a fetch with a batch stored before and a new one: the new one stored, the old one counted a duplicate"
