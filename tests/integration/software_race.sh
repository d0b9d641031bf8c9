#!/usr/bin/env bash
# Software lists of the same devices stored by concurrent transactions:
# ingest drains a backlog of thirty lists for each of four devices,
# fetching a few batches at a time.
#
# First one process of two workers, fetching three batches at a time (two
# fetches of four devices always share one): its workers claim a fetch's
# devices (ingest/claims.h), so one never compares a device's lists while
# the other stores lists of that device, and no fetch has to be stored
# again; the batches of a device the other worker holds wait for a second
# transaction, the rest of the fetch does not. Halfway, a list with a day
# that is no date (published straight to the stream: serve would refuse
# it) makes its fetch fail, whichever of its transactions it is in: the
# fetch is stored one message at a time, and that one alone is
# dead-lettered; nothing is stored twice.
#
# Then two processes of two workers each, on thirty more lists: across
# processes, ingest compares each list with its copy of the device's set,
# made at a revision it read without a lock; a transaction that compared
# against a set another one changed meanwhile must notice
# (tally_ingest_devices() checks the revision under the row lock; the
# staged deletes check their counts) and store its fetch again.
#
# Last, one process again, killed (-9) five times in the middle of its
# drain of fetches split that way: nothing is stored twice or lost.
#
# After each, each device's set is exactly its last list (the newest report
# always applies; an older one that comes later is ignored), and its
# revision counts at most its lists.
. "$(dirname "$0")/../lib/testlib.sh"

start_tally serve
tenant=$(new_tenant "Racing Software")
key=$(new_agent_key "$tenant")
base="$root/docs/examples/inventory-batch.json"
devices=4 lists=30
programs=(Alpha Beta Gamma Delta Epsilon Zeta Eta Theta)

# Devices 1 and 2 get random lists; devices 3 and 4 the lists {Base},
# {Base, Extra l}, {Base, Extra l+1}, {Base} and so on: the second and third
# of each three, compared with the same set ({Base}), each only add a row of
# their own (nothing for the staged deletes or the key to catch), so only
# the revision can tell that the older must not apply once the newer has.
RANDOM=20261122
# post_lists ROUND: lists 1..$lists of round ROUND (its own batch ids) for
# every device; the device's last list goes to $t_dir/want<device>.
post_lists() {
  for ((l = 1; l <= lists; l++)); do
    for ((d = 1; d <= devices; d++)); do
      items=()
      for p in "${programs[@]}"; do
        [ "$d" -le 2 ] || break
        case $((RANDOM % 4)) in
        0) ;; # not installed
        1) items+=("{\"name\": \"$p\", \"publisher\": \"Acme\", \"version\": \"1.0\"}") ;;
        2) items+=("{\"name\": \"$p\", \"publisher\": \"Acme\", \"version\": \"2.$((RANDOM % 3))\"}") ;;
        3) items+=("{\"name\": \"$p\", \"publisher\": \"Acme\", \"version\": \"1.0\", \"install_location\": \"D:\\\\$p\"}") ;;
        esac
      done
      [ "$d" -le 2 ] || items=("{\"name\": \"Base\", \"version\": \"1.0\"}")
      [ "$d" -le 2 ] || [ $((l % 3)) = 1 ] || items+=("{\"name\": \"Extra $l\", \"version\": \"1.0\"}")
      sw="[$(
        IFS=,
        echo "${items[*]}"
      )]"
      agent=$(printf '5a5a0000-0000-4000-8000-%012d' "$d")
      jq --arg id "$(printf '5a5a0000-0000-4000-8%03d-%06d%06d' "$1" "$l" "$d")" --arg agent "$agent" \
        --argjson sw "$sw" '.batch_id = $id | .agent.id = $agent | .software = $sw | del(.patches)' \
        "$base" >"$t_dir/l$d.json"
      read -r status body < <(post_batch "$key" "$t_dir/l$d.json")
      [ "$status" = 202 ] || fail "list $l of device $d: $status $body"
      # The device's last list, as "name version location" lines.
      [ "$l" -lt "$lists" ] || jq -r '.software[] | "\(.name) \(.version) \(.install_location // "-")"' \
        "$t_dir/l$d.json" | sort >"$t_dir/want$d"
    done
    [ "$1" != 1 ] || [ "$l" != $((lists / 2)) ] || post_bad_list
  done
}

# post_bad_list: device 2's list with an install_date that is no day,
# straight to the stream.
post_bad_list() {
  jq --arg id "$(printf '5a5a0000-0000-4000-8999-%012d' 2)" \
    --arg agent "$(printf '5a5a0000-0000-4000-8000-%012d' 2)" \
    '.batch_id = $id | .agent.id = $agent | del(.patches)
     | .software = [{"name": "Alpha", "publisher": "Acme", "version": "9.9", "install_date": "2026-02-30"}]' \
    "$base" >"$t_dir/bad.json"
  nats_connect "$TALLY_NATS_URL" && nats_pub "$TALLY_SUBJECT_PREFIX.$tenant" "$t_dir/bad.json" ||
    fail "nats-server did not take the bad list"
  nats_close
}

# check_sets ROUNDS: every device holds its last list, its revision is at
# most its lists' count, only the bad list was dead-lettered.
check_sets() {
  for ((d = 1; d <= devices; d++)); do
    agent=$(printf '5a5a0000-0000-4000-8000-%012d' "$d")
    sql "SELECT s.name || ' ' || ds.version || ' ' || coalesce(ds.install_location, '-')
           FROM device_software ds JOIN software_catalog s ON s.id = ds.software_id
           JOIN devices dv ON dv.id = ds.device_id WHERE dv.agent_id = '$agent'" | sort >"$t_dir/got$d"
    diff -u "$t_dir/want$d" "$t_dir/got$d" >&2 || fail "device $d: its set is not its last list"
  done
  revs=$(sql "SELECT min(software_rev) || ' ' || max(software_rev) || ' ' || count(*) FROM devices
               WHERE tenant_id = '$tenant'")
  read -r low high count <<<"$revs"
  [ "$count" = "$devices" ] || fail "expected $devices devices, found $count"
  [ "$low" -ge 1 ] && [ "$high" -le $(($1 * lists)) ] || fail "software_rev from $low to $high"
  [ "$(sql "SELECT count(*) || ' ' || bool_and(reason LIKE '%install_date%') FROM dead_letters
             WHERE tenant_id = '$tenant'")" = "1 true" ] ||
    fail "dead letters: $(sql "SELECT reason FROM dead_letters WHERE tenant_id = '$tenant'")"
}

export TALLY_INGEST_WORKERS=2
post_lists 1
TALLY_INGEST_FETCH_BATCH=3 start_tally ingest
wait_for "SELECT count(*) FROM inventory_reports" $((devices * lists)) 60
wait_for "SELECT count(*) FROM dead_letters WHERE tenant_id = '$tenant'" 1 30
check_sets 1
retried=$(grep -c 'a cache was stale' "$t_dir/ingest.log" || true)
[ "$retried" = 0 ] || fail "one process stored $retried fetches again: its workers raced on a device"
deferred=$(ingest_metric tally_ingest_deferred_batches_total)
[ "${deferred:-0}" -gt 0 ] || fail "no batch waited for the other worker's claim: the split went untried"
isolations=$(ingest_metric tally_ingest_isolations_total)
[ "$isolations" = 1 ] || fail "isolations: $isolations"
ledger=$(sql "SELECT count(*) FROM ingested_batches WHERE tenant_id = '$tenant'")
[ "$ledger" = $((devices * lists)) ] || fail "ledger: $ledger rows for $((devices * lists)) lists"
pass "one process, two workers: each device holds its last list, the bad one alone dead-lettered, no fetch stored again ($deferred batches waited for the other worker's claim)"
stop_tally "${t_pids[1]}"

export TALLY_INGEST_FETCH_BATCH=2
post_lists 2
start_tally ingest
TALLY_INGEST_METRICS_PORT=0 start_tally ingest
wait_for "SELECT count(*) FROM inventory_reports" $((2 * devices * lists)) 60
check_sets 2
retried=$(grep -c 'a cache was stale' "$t_dir/ingest.log" || true)
pass "two processes: each device holds its last list, revisions $low..$high, no other dead letter; $retried fetches stored again after a concurrent change"
stop_tally "${t_pids[1]}" "${t_pids[2]}"

# Then one process again, fetching three at a time (fetches split), killed
# (-9) as soon as it has stored something, again and again while thirty
# more lists a device wait: a fetch whose first transaction committed and
# whose second did not comes back whole once the ack wait is over, and the
# ledger skips what was stored.
export TALLY_INGEST_FETCH_BATCH=3 TALLY_INGEST_ACK_WAIT_S=2 TALLY_INGEST_REDELIVERY_BACKOFF_S=
post_lists 3
total=$((3 * devices * lists))
stored() { sql "SELECT count(*) FROM inventory_reports WHERE tenant_id = '$tenant'"; }
kills=0
n=$(stored)
while [ "$kills" -lt 5 ] && [ "$n" -lt "$total" ]; do
  "$TALLY_BIN" ingest >>"$t_dir/ingest.log" 2>&1 &
  pid=$!
  n0=$n
  for ((i = 0; i < 200 && n == n0; i++)); do
    sleep 0.02
    n=$(stored)
  done
  kill -KILL "$pid"
  wait "$pid" 2>/dev/null || true
  [ "$n" -ge "$total" ] || kills=$((kills + 1))
done
[ "$kills" -ge 1 ] || fail "no kill landed before the drain's end"
start_tally ingest
wait_for "SELECT count(*) FROM inventory_reports" "$total" 60
check_sets 3
sleep 3 # a redelivered duplicate would have come back by now (ack wait 2 s)
got=$(sql "SELECT count(*) || ' ' || count(DISTINCT batch_id) || ' ' ||
                  (SELECT count(*) FROM ingested_batches WHERE tenant_id = '$tenant')
             FROM inventory_reports WHERE tenant_id = '$tenant'")
[ "$got" = "$total $total $total" ] || fail "reports, distinct reports, ledger after the kills: $got"
pass "kill -9 $kills times in the middle of a drain of split fetches: each device holds its last list, every batch stored once"

# Whether a race shows up above depends on timing; the revision check itself
# does not: a set compared at a revision the device no longer has is refused
# (SQLSTATE TLY01), one compared at its revision is advanced.
device=$(sql "SELECT id FROM devices WHERE tenant_id = '$tenant' ORDER BY id LIMIT 1")
revision_check() { # REVISION_OFFSET
  psql "$TALLY_OWNER_DATABASE_URL" -qAt -v ON_ERROR_STOP=1 2>&1 <<SQL
BEGIN;
SELECT count(*) FROM tally_ingest_begin();
INSERT INTO stage_software_devices
  SELECT tenant_id, id, software_rev + $1, now() FROM devices WHERE id = '$device';
SELECT tally_ingest_devices();
SELECT software_rev FROM devices WHERE id = '$device';
ROLLBACK;
SQL
}
rev=$(sql "SELECT software_rev FROM devices WHERE id = '$device'")
out=$(revision_check -1 || true)
grep -q 'TLY01' <<<"$out" || grep -q 'compared at revisions they no longer have' <<<"$out" ||
  fail "a stale revision was not refused: $out"
out=$(revision_check 0) || fail "the current revision was refused: $out"
[ "$(tail -1 <<<"$out")" = $((rev + 1)) ] || fail "the revision did not advance: $out"
pass "a set compared at an older revision is refused (TLY01), at the current one advanced"
