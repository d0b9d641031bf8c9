#!/usr/bin/env bash
# A batch the schema accepts but PostgreSQL cannot store (the year 0000: valid
# RFC 3339, but PostgreSQL has no year zero; ingest checks it, as it writes
# the report rows in COPY's binary format) is a poison message: it lands in dead_letters (reason, tenant, original bytes)
# and in the dead-letter stream, exactly once, and the batches sent after it
# are ingested normally.
. "$(dirname "$0")/../lib/testlib.sh"

start_private_nats
start_tally ingest
ingest_pid=${t_pids[-1]}
start_tally serve
tenant=$(new_tenant "Poison Pen")
key=$(new_agent_key "$tenant")
batch="$root/docs/examples/inventory-batch.json"

# post_trio NAME X Y Z: posts three batches with one process event each,
# batch ids 4444444X-..., the middle one's event in the year 0000 (poison);
# posted while ingest is stopped, they arrive in one fetch.
post_trio() {
  local name=$1 n f
  shift
  for n in "$@"; do
    jq --arg now "$now" --arg id "4444444${n}-4444-4444-8444-444444444444" \
      '.batch_id = $id | .process_events = [{"ts": $now, "op": "start", "pid": 1, "name": "a.exe"}]' \
      "$batch" >"$t_dir/$name$n.json"
  done
  jq '.process_events[0].ts = "0000-01-01T00:00:00Z"' "$t_dir/$name$2.json" >"$t_dir/${name}p.json"
  for f in "$name$1" "${name}p" "$name$3"; do
    read -r status body < <(post_batch "$key" "$t_dir/$f.json")
    [ "$status" = 202 ] || fail "$f: $status $body"
  done
}

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

row=$(sql "SELECT tenant_id, reason = 'batch.sent_at: not an RFC 3339 date-time of the years 0001-9999',
                   md5(payload), stream_seq
             FROM dead_letters")
[ "$row" = "$tenant|t|$(md5sum <"$t_dir/poison.json" | cut -d' ' -f1)|2" ] || fail "dead letter row: $row"
pass "dead_letters: tenant, reason ($(sql "SELECT reason FROM dead_letters" | cut -c1-70)...), original payload"

dlq=$(curl -sS "http://127.0.0.1:$t_nats_monitor/jsz?streams=true" |
  jq -r --arg s "${TALLY_STREAM_NAME}_DLQ" '[.account_details[]?.stream_detail[]? | select(.name == $s) | .state.messages] | add // 0')
[ "$dlq" = 1 ] || fail "dead-letter stream holds $dlq messages"
pass "the dead-letter stream holds the poison message once"

# A poison *event* inside a batch fetched with others: the bulk COPY is
# refused as a whole, ingest retries the batch one message at a time, and
# only the guilty message is dead-lettered. Ingest is stopped while the
# three are sent so that they arrive in one fetch.
stop_tally "$ingest_pid"
now=$(date -u +%Y-%m-%dT%H:%M:%SZ)
post_trio e 4 5 6
start_tally ingest
ingest_pid=${t_pids[-1]}
wait_for "SELECT count(*) FROM dead_letters" 2 30
wait_for "SELECT count(*) FROM inventory_reports" 4 30
[ "$(sql "SELECT count(*) FROM process_events")" = 2 ] || fail "the good batches' events are missing"
[ "$(sql "SELECT convert_from(payload, 'UTF8')::jsonb->>'batch_id' FROM dead_letters ORDER BY id DESC LIMIT 1")" = \
  "44444445-4444-4444-8444-444444444444" ] || fail "the wrong batch was dead-lettered"
grep -q "storing them one by one" "$t_dir/ingest.log" || fail "the isolation path did not run"
pass "a poison event in a shared fetch: the batch is retried message by message, only the guilty one dead-lettered"

# Values only a message that did not come through serve can carry (serve's
# schema bounds ports to 0..65535 and wants IP addresses): ingest writes
# events in COPY's binary format and checks each value against its column
# itself, as PostgreSQL's text input would. Published straight to the
# stream, bypassing serve; each is dead-lettered with the column named, and
# the good batch sent with them is stored.
publish_raw() { # subject file: a plain NATS PUB (JetStream stores it)
  nats_connect "nats://127.0.0.1:$t_nats_port" && nats_pub "$1" "$2" ||
    fail "nats-server did not take $2"
  nats_close
}
for n in 7 8 9; do
  jq -c --arg now "$now" --arg id "4444444${n}-4444-4444-8444-444444444444" \
    '.batch_id = $id | .network_events = [{"ts": $now, "protocol": "tcp", "local_ip": "10.0.0.1", "local_port": 80}]' \
    "$batch" >"$t_dir/r$n.json"
done
jq -c '.network_events[0].local_port = 3000000000' "$t_dir/r7.json" >"$t_dir/r7p.json"
jq -c '.network_events[0].local_ip = "10.0.0.256"' "$t_dir/r8.json" >"$t_dir/r8p.json"
jq -c '.batch_id = "44444440-4444-4444-8444-444444444444" | .software[0].install_date = "2026-02-30"' \
  "$t_dir/r9.json" >"$t_dir/r0p.json"
for f in r7p r8p r0p r9; do publish_raw "$TALLY_SUBJECT_PREFIX.$tenant" "$t_dir/$f.json"; done
wait_for "SELECT count(*) FROM dead_letters" 5 30
wait_for "SELECT count(*) FROM inventory_reports" 5 30
reasons=$(sql "SELECT string_agg(b || ' ' || reason, ';' ORDER BY b)
                 FROM (SELECT convert_from(payload, 'UTF8')::jsonb->>'batch_id' AS b, reason
                         FROM dead_letters) d
                WHERE b IN ('44444440-4444-4444-8444-444444444444', '44444447-4444-4444-8444-444444444444',
                            '44444448-4444-4444-8444-444444444444')")
[ "$reasons" = "44444440-4444-4444-8444-444444444444 software.install_date: not a date (YYYY-MM-DD): 2026-02-30;44444447-4444-4444-8444-444444444444 network_events.local_port: not an integer within integer's range;44444448-4444-4444-8444-444444444444 network_events.local_ip: not an IPv4 or IPv6 address" ] ||
  fail "dead letters of the raw messages: $reasons"
[ "$(sql "SELECT count(*) FROM network_events WHERE host(local_ip) = '10.0.0.1'")" = 1 ] ||
  fail "the good raw batch's event is missing"
pass "values out of their column's range (a port, an address, 30 February) are dead-lettered with the column named; the good batch is stored"

# Messages serve would have refused before parsing them whole, published
# straight to the stream: text that is not JSON, and a batch nested deeper
# than TALLY_MAX_JSON_DEPTH (ingest parses within serve's bounds, so a
# message can cost it no more than a body could cost serve). Each is
# dead-lettered with the parser's reason; the good batch behind them is
# stored.
printf 'not json at all' >"$t_dir/junk.txt"
jq -c '.batch_id = "4444444a-4444-4444-8444-444444444444"
       | .device.disks = [[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]' "$batch" >"$t_dir/deep.json"
jq -c '.batch_id = "4444444b-4444-4444-8444-444444444444"' "$batch" >"$t_dir/good.json"
for f in junk.txt deep.json good.json; do publish_raw "$TALLY_SUBJECT_PREFIX.$tenant" "$t_dir/$f"; done
wait_for "SELECT count(*) FROM dead_letters" 7 30
wait_for "SELECT count(*) FROM inventory_reports WHERE batch_id = '4444444b-4444-4444-8444-444444444444'" 1 30
reasons=$(sql "SELECT string_agg(reason, ';' ORDER BY id) FROM (SELECT id, reason FROM dead_letters
                ORDER BY id DESC LIMIT 2) d")
case $reasons in
  "undecodable: not JSON within serve's bounds: "*";undecodable: not JSON within serve's bounds: nesting deeper than 16 levels"*) ;;
  *) fail "dead letters of the unparsable messages: $reasons" ;;
esac
[ "$(sql "SELECT count(*) FROM dead_letters WHERE convert_from(payload, 'UTF8') = 'not json at all'")" = 1 ] ||
  fail "the text that is not JSON is not kept byte for byte"
pass "text that is not JSON and a batch nested past TALLY_MAX_JSON_DEPTH are dead-lettered with the parser's reason; the batch behind them is stored"

# A passing fault part-way through an isolation: a trigger fails the third
# batch's report once with a serialization failure (SQLSTATE 40001, which
# ingest retries). The first batch is committed by then and the poison one
# dead-lettered; ingest holds the fetch, retries it whole and isolates it
# again, and finds the first batch in the ledger. This worker stored it, so
# it counts as stored, not as a duplicate, and the dead letter counts once.
# Ingest is restarted for it: its counters start at zero.
stop_tally "$ingest_pid"
sql "CREATE SEQUENCE fail_once;
     CREATE FUNCTION fail_once() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER AS \$\$
     BEGIN
       IF NEW.batch_id = '4444444e-4444-4444-8444-444444444444' THEN
         IF nextval('fail_once') = 1 THEN
           RAISE EXCEPTION 'injected passing fault' USING ERRCODE = '40001';
         END IF;
       END IF;
       RETURN NEW;
     END \$\$;
     CREATE TRIGGER fail_once BEFORE INSERT ON inventory_reports
       FOR EACH ROW EXECUTE FUNCTION fail_once();" >/dev/null
post_trio i c d e
log_lines=$(wc -l <"$t_dir/ingest.log")
start_tally ingest
ingest_pid=${t_pids[-1]}
wait_for "SELECT count(*) FROM inventory_reports WHERE batch_id IN ('4444444c-4444-4444-8444-444444444444',
                                                                    '4444444e-4444-4444-8444-444444444444')" 2 30
wait_for "SELECT count(*) FROM dead_letters" 8 30
[ "$(sql "SELECT last_value FROM fail_once")" = 2 ] || fail "the fault was not injected once and passed"
wait_metric() { # series value seconds: settling follows the commit by a moment
  local i
  for ((i = 0; i < $3 * 10; i++)); do [ "$(ingest_metric "$1")" = "$2" ] && return 0; sleep 0.1; done
  fail "$1 is '$(ingest_metric "$1")', expected $2"
}
wait_metric 'tally_ingest_messages_total{outcome="stored"}' 2 30
[ "$(ingest_metric 'tally_ingest_messages_total{outcome="duplicate"}')" = 0 ] ||
  fail "a batch this worker stored before the fault counted as a duplicate"
[ "$(ingest_metric 'tally_ingest_messages_total{outcome="poison"}')" = 1 ] || fail "poison messages miscounted"
[ "$(ingest_metric tally_ingest_store_retries_total)" -ge 1 ] || fail "the fetch was not retried"
isolations=$(ingest_metric tally_ingest_isolations_total)
[ "$isolations" = 2 ] || fail "isolations: $isolations, expected 2"
pass "a fault part-way through an isolation: the retried fetch counts 2 stored, 0 duplicates, 1 poison"
stop_tally "$ingest_pid"
dl=$(awk -F'stored [0-9]+ batches, ' '/worker stopping/ { split($2, a, " "); n += a[1] } END { print n + 0 }' \
  <(tail -n +$((log_lines + 1)) "$t_dir/ingest.log"))
[ "$dl" = 1 ] || fail "the restarted ingest's workers logged $dl dead letters, expected 1"
pass "its workers log the dead letter once"
