#!/usr/bin/env bash
# Installed software and patches: the first list is the baseline; each later
# full list replaces the set and records exactly the installs, uninstalls and
# version changes; a batch without the section changes nothing; versions are
# ordered numerically for fleet-wide questions; tenants never share rows.
. "$(dirname "$0")/../lib/testlib.sh"

# One worker: the last check needs the worker that cached the catalog ids
# to be the one that stores the next list.
export TALLY_INGEST_WORKERS=1
start_tally ingest
start_tally serve
tenant=$(new_tenant "Softworks")
key=$(new_agent_key "$tenant")
base="$root/docs/examples/inventory-batch.json"
n=0

report() { # JSON_SOFTWARE_OR_null JSON_PATCHES_OR_null
  n=$((n + 1))
  jq --arg id "$(printf '5a5a5a5a-0000-4000-8000-%012d' "$n")" --argjson sw "$1" --argjson kb "$2" '
    .batch_id = $id | del(.software, .patches) |
    if $sw == null then . else .software = $sw end |
    if $kb == null then . else .patches = $kb end' "$base" >"$t_dir/r$n.json"
  read -r status body < <(post_batch "$key" "$t_dir/r$n.json")
  [ "$status" = 202 ] || fail "report $n: $status $body"
  wait_for "SELECT count(*) FROM inventory_reports" "$n" 30
}
sw() { printf '{"name": "%s", "publisher": "%s", "version": "%s"}' "$1" "$2" "$3"; }
kb() { printf '{"hotfix_id": "%s"}' "$1"; }
changes() {
  sql "SELECT string_agg(c.change || ':' || s.name || ':' || coalesce(c.old_version, '-') || '>' ||
                         coalesce(c.new_version, '-'), ' ' ORDER BY c.change, s.name)
         FROM software_changes c JOIN software_catalog s ON s.id = c.software_id"
}

report "[$(sw 'Google Chrome' 'Google LLC' 130.0.6723.117), $(sw '7-Zip 23.01 (x64)' 'Igor Pavlov' 23.01),
         $(sw 'Zoom Workplace' 'Zoom Video Communications, Inc.' 6.2.5)]" "[$(kb KB5044285), $(kb KB5043080)]"
[ "$(sql "SELECT count(*) FROM device_software")" = 3 ] || fail "baseline set"
[ "$(sql "SELECT count(*) FROM software_changes")" = 0 ] || fail "the baseline must not record changes"
pass "first list: 3 programs stored as the baseline, no change events"

report "[$(sw 'Google Chrome' 'Google LLC' 131.0.6778.86), $(sw '7-Zip 23.01 (x64)' 'Igor Pavlov' 23.01),
         $(sw 'Mozilla Firefox (x64 de)' 'Mozilla' 133.0)]" "[$(kb KB5043080), $(kb KB5046617)]"
want="installed:Mozilla Firefox (x64 de):->133.0 uninstalled:Zoom Workplace:6.2.5>- version_changed:Google Chrome:130.0.6723.117>131.0.6778.86"
[ "$(changes)" = "$want" ] || fail "second report: $(changes)"
[ "$(sql "SELECT string_agg(hotfix_id, ',' ORDER BY hotfix_id) FROM device_patches")" = "KB5043080,KB5046617" ] ||
  fail "patch set after the second report"
pass "second list: exactly one install, one uninstall, one version change; patches replaced"

report null null
[ "$(sql "SELECT count(*) FROM software_changes")" = 3 ] || fail "a batch without software changed something"
[ "$(sql "SELECT count(*) FROM device_software")" = 3 ] || fail "a batch without software changed the set"
pass "a batch without the sections leaves both sets alone"

report "[$(sw 'Google Chrome' 'Google LLC' 131.0.6778.86), $(sw '7-Zip 23.01 (x64)' 'Igor Pavlov' 24.08),
         $(sw 'Mozilla Firefox (x64 de)' 'Mozilla' 133.0)]" "[]"
[ "$(sql "SELECT count(*) FROM software_changes WHERE change = 'version_changed'
            AND old_version = '23.01' AND new_version = '24.08'")" = 1 ] || fail "7-Zip upgrade: $(changes)"
[ "$(sql "SELECT count(*) FROM software_changes")" = 4 ] || fail "third list: $(changes)"
[ "$(sql "SELECT count(*) FROM device_patches")" = 0 ] || fail "an empty patch list should empty the set"
pass "third list: exactly the 7-Zip upgrade; an empty patch list empties the set"

# The same program and version with a new install date and location: the row
# is updated in place (first_seen kept), and that is no change event.
chrome="SELECT %s FROM device_software d JOIN software_catalog s ON s.id = d.software_id
         WHERE s.name = 'Google Chrome'"
first_seen=$(sql "$(printf "$chrome" first_seen)")
report "[$(sw 'Google Chrome' 'Google LLC' 131.0.6778.86 | jq -c '.install_date = "2026-11-20" |
           .install_location = "C:\\Program Files\\Google\\Chrome\\Application"'),
         $(sw '7-Zip 23.01 (x64)' 'Igor Pavlov' 24.08), $(sw 'Mozilla Firefox (x64 de)' 'Mozilla' 133.0)]" "[]"
[ "$(sql "$(printf "$chrome" "install_date || ' ' || install_location || ' ' || first_seen")")" = \
  "2026-11-20 C:\Program Files\Google\Chrome\Application $first_seen" ] ||
  fail "moved program: $(sql "$(printf "$chrome" "install_date || ' ' || install_location")")"
[ "$(sql "SELECT count(*) FROM software_changes")" = 4 ] || fail "an attribute change is not a software change: $(changes)"
[ "$(sql "SELECT count(*) FROM device_software")" = 3 ] || fail "moved program: the set changed size"
pass "a new install date and location update the program's row, with no change event"

# Fleet-wide: which devices run Chrome below 132? (numeric version order)
[ "$(sql "SELECT count(*) FROM device_software d JOIN software_catalog s ON s.id = d.software_id
          WHERE s.name = 'Google Chrome' AND d.version_key < tally_version_key('132')")" = 1 ] ||
  fail "version_key query"
[ "$(sql "SELECT tally_version_key('131.0.6778.86')")" = '\x000000830000000000001a7a00000056' ] ||
  fail "version_key: $(sql "SELECT tally_version_key('131.0.6778.86')")"
[ "$(sql "SELECT tally_version_key('9.10') > tally_version_key('9.9')")" = t ] || fail "9.10 > 9.9"
# Order as the numbers: a longer number is larger, a prefix first, no digits first of all.
[ "$(sql "SELECT string_agg(v, ' ' ORDER BY tally_version_key(v), v)
            FROM unnest(ARRAY['10', '9.9.1', '9.10', '9.9', '1000000000', 'beta', '9'])
                 AS t(v)")" = "beta 9 9.9 9.9.1 9.10 10 1000000000" ] ||
  fail "version order: $(sql "SELECT string_agg(v, ' ' ORDER BY tally_version_key(v), v)
            FROM unnest(ARRAY['10', '9.9.1', '9.10', '9.9', '1000000000', 'beta', '9']) AS t(v)")"
pass "versions compare numerically (9.10 > 9.9; Chrome < 132 found by index)"

# Another tenant: its own catalog, nothing shared.
other=$(new_tenant "Othersoft")
key=$(new_agent_key "$other")
report "[$(sw 'Google Chrome' 'Google LLC' 131.0.6778.86)]" null
[ "$(sql "SELECT count(DISTINCT tenant_id) FROM software_catalog WHERE name = 'Google Chrome'")" = 2 ] ||
  fail "catalogs should be per tenant"
[ "$(sql "SELECT count(*) FROM device_software WHERE tenant_id = '$other'")" = 1 ] || fail "other tenant's set"
pass "a second tenant's identical software is its own catalog entry and device row"

# Three lists of one device in one fetch (a store-and-forward backlog):
# ingest applies them one round at a time, in receive order, so every
# step's difference is recorded, not only first-to-last.
stop_tally "${t_pids[0]}"
agent=7e7e7e7e-0000-4000-8000-000000000001
lists=("[$(sw Alpha Acme 1.0), $(sw Beta Acme 1.0)]"
  "[$(sw Alpha Acme 2.0), $(sw Beta Acme 1.0), $(sw Gamma Acme 1.0)]"
  "[$(sw Alpha Acme 2.0), $(sw Gamma Acme 1.0)]")
patches=("[$(kb KB1001)]" "[$(kb KB1001), $(kb KB2002)]" "[$(kb KB2002)]")
for i in 0 1 2; do
  jq --arg id "7e7e7e7e-0000-4000-8000-00000000010$i" --arg agent "$agent" \
    --argjson sw "${lists[$i]}" --argjson kb "${patches[$i]}" \
    '.batch_id = $id | .agent.id = $agent | .software = $sw | .patches = $kb' "$base" >"$t_dir/b$i.json"
  read -r status body < <(post_batch "$key" "$t_dir/b$i.json")
  [ "$status" = 202 ] || fail "backlog report $i: $status $body"
done
start_tally ingest
wait_for "SELECT count(*) FROM inventory_reports r JOIN devices d ON d.id = r.device_id WHERE d.agent_id = '$agent'" 3 30
fetches=$(ingest_metric tally_ingest_fetches_total)
[ "$fetches" = 1 ] || fail "expected the three reports in one fetch, ingest made $fetches"
device_changes=$(sql "SELECT string_agg(c.change || ':' || s.name || ':' || coalesce(c.old_version, '-') || '>' ||
                                        coalesce(c.new_version, '-'), ' ' ORDER BY c.ts, c.change, s.name)
                        FROM software_changes c JOIN software_catalog s ON s.id = c.software_id
                        JOIN devices d ON d.id = c.device_id WHERE d.agent_id = '$agent'")
want="installed:Gamma:->1.0 version_changed:Alpha:1.0>2.0 uninstalled:Beta:1.0>-"
[ "$device_changes" = "$want" ] || fail "changes of a backlog in one fetch: $device_changes"
[ "$(sql "SELECT string_agg(s.name || ' ' || ds.version, ',' ORDER BY s.name) FROM device_software ds
          JOIN software_catalog s ON s.id = ds.software_id JOIN devices d ON d.id = ds.device_id
          WHERE d.agent_id = '$agent'")" = "Alpha 2.0,Gamma 1.0" ] || fail "final set of the backlog"
[ "$(sql "SELECT string_agg(hotfix_id, ',') FROM device_patches p JOIN devices d ON d.id = p.device_id
          WHERE d.agent_id = '$agent'")" = "KB2002" ] || fail "final patch set of the backlog"
# Each patch list applied in its round: KB2002 was first seen with the second.
[ "$(sql "SELECT p.first_seen = r.received_at FROM device_patches p
            JOIN devices d ON d.id = p.device_id
            JOIN inventory_reports r ON r.batch_id = '7e7e7e7e-0000-4000-8000-000000000101'
          WHERE d.agent_id = '$agent' AND p.hotfix_id = 'KB2002'")" = t ] ||
  fail "KB2002 should have been first seen with the second list of the backlog"
[ "$(sql "SELECT count(*) FROM device_software WHERE version_key <> tally_version_key(version)")" = 0 ] ||
  fail "a stored version_key differs from tally_version_key(version)"
pass "three lists in one fetch: each step's changes in order (baseline, then +Gamma ~Alpha, then -Beta)"

# A program installed in several versions side by side (the Visual C++
# runtimes): the versions that went and came, comma-separated, in one row.
agent=7e7e7e7e-0000-4000-8000-000000000002
vc() { sw 'Microsoft Visual C++ 2015-2022 Redistributable (x64)' 'Microsoft Corporation' "$1"; }
multi=("[$(vc 14.38.33130), $(vc 14.40.33810)]"
  "[$(vc 14.40.33810), $(vc 14.42.34433), $(vc 14.44.35211)]"
  "[$(vc 14.44.35211)]"
  "[]")
for i in 0 1 2 3; do
  jq --arg id "7e7e7e7e-0000-4000-8000-00000000020$i" --arg agent "$agent" --argjson sw "${multi[$i]}" \
    '.batch_id = $id | .agent.id = $agent | .software = $sw | del(.patches)' "$base" >"$t_dir/m$i.json"
  read -r status body < <(post_batch "$key" "$t_dir/m$i.json")
  [ "$status" = 202 ] || fail "multi-version report $i: $status $body"
  wait_for "SELECT count(*) FROM inventory_reports r JOIN devices d ON d.id = r.device_id WHERE d.agent_id = '$agent'" $((i + 1)) 30
done
multi_changes=$(sql "SELECT string_agg(c.change || ':' || coalesce(c.old_version, '-') || '>' ||
                                       coalesce(c.new_version, '-'), ' ' ORDER BY c.ts, c.change, c.old_version)
                       FROM software_changes c JOIN devices d ON d.id = c.device_id WHERE d.agent_id = '$agent'")
want="version_changed:14.38.33130>14.42.34433, 14.44.35211 version_changed:14.40.33810, 14.42.34433>- uninstalled:14.44.35211>-"
[ "$multi_changes" = "$want" ] || fail "several versions side by side: $multi_changes"
pass "several versions of one program: went and came listed in one row; the last one's removal is an uninstall"

# A program and version listed twice in one list (two uninstall keys of one
# program): stored once, with its first occurrence's attributes, and no
# change event; the next list names the other occurrence first, and the row
# takes its attributes in place, still with no event.
agent=7e7e7e7e-0000-4000-8000-000000000005
twice() { sw 'Notepad++ (64-bit x64)' 'Notepad++ Team' 8.6.9 | jq -c --arg d "$1" '.install_date = $d'; }
for i in 1 2; do
  if [ "$i" = 1 ]; then list="[$(twice 2026-01-01), $(sw Other Acme 1.0), $(twice 2026-02-02)]"; else
    list="[$(twice 2026-02-02), $(sw Other Acme 1.0), $(twice 2026-01-01)]"; fi
  jq --arg id "7e7e7e7e-0000-4000-8000-00000000050$i" --arg agent "$agent" --argjson sw "$list" \
    '.batch_id = $id | .agent.id = $agent | .software = $sw | del(.patches)' "$base" >"$t_dir/t$i.json"
  read -r status body < <(post_batch "$key" "$t_dir/t$i.json")
  [ "$status" = 202 ] || fail "report $i with a program listed twice: $status $body"
  wait_for "SELECT count(*) FROM inventory_reports r JOIN devices d ON d.id = r.device_id WHERE d.agent_id = '$agent'" "$i" 30
  rows=$(sql "SELECT string_agg(s.name || ' ' || ds.version || ' ' || coalesce(ds.install_date::text, '-'), ',' ORDER BY s.name)
                FROM device_software ds JOIN software_catalog s ON s.id = ds.software_id
                JOIN devices d ON d.id = ds.device_id WHERE d.agent_id = '$agent'")
  want="Notepad++ (64-bit x64) 8.6.9 2026-0$i-0$i,Other 1.0 -"
  [ "$rows" = "$want" ] || fail "list $i with a program listed twice: $rows"
done
[ "$(sql "SELECT count(*) FROM software_changes c JOIN devices d ON d.id = c.device_id WHERE d.agent_id = '$agent'")" = 0 ] ||
  fail "a program listed twice recorded change events"
pass "a program and version listed twice: one row, its first occurrence's attributes, no change event"

# Ingest compares lists with its copy of the device's set only while the
# device row holds the revision the copy was made at. Another writer (a
# second ingest process) changed the set behind this one's back: ingest
# reads the set from PostgreSQL instead, and records exactly the difference
# from it, with no stale-cache retry.
agent=7e7e7e7e-0000-4000-8000-000000000004
other_list() { # N JSON_SOFTWARE
  jq --arg id "7e7e7e7e-0000-4000-8000-00000000040$1" --arg agent "$agent" --argjson sw "$2" \
    '.batch_id = $id | .agent.id = $agent | .software = $sw | del(.patches)' "$base" >"$t_dir/o$1.json"
  read -r status body < <(post_batch "$key" "$t_dir/o$1.json")
  [ "$status" = 202 ] || fail "report $1 of $agent: $status $body"
  wait_for "SELECT count(*) FROM inventory_reports r JOIN devices d ON d.id = r.device_id WHERE d.agent_id = '$agent'" "$1" 30
}
other_list 1 "[$(sw Alpha Acme 1.0), $(sw Beta Acme 1.0)]"
other_list 2 "[$(sw Alpha Acme 1.0), $(sw Beta Acme 1.0), $(sw Gamma Acme 1.0)]"
sql "BEGIN;
     DELETE FROM device_software ds USING devices d, software_catalog s
      WHERE d.agent_id = '$agent' AND ds.device_id = d.id AND s.id = ds.software_id AND s.name = 'Beta';
     UPDATE devices SET software_rev = software_rev + 1 WHERE agent_id = '$agent';
     COMMIT" >/dev/null
other_list 3 "[$(sw Alpha Acme 1.0), $(sw Gamma Acme 1.0), $(sw Delta Acme 1.0)]"
other_changes=$(sql "SELECT string_agg(c.change || ':' || s.name, ' ' ORDER BY c.ts, s.name)
                       FROM software_changes c JOIN software_catalog s ON s.id = c.software_id
                       JOIN devices d ON d.id = c.device_id WHERE d.agent_id = '$agent'")
[ "$other_changes" = "installed:Gamma installed:Delta" ] ||
  fail "a set changed behind ingest's back: $other_changes"
[ "$(sql "SELECT string_agg(s.name, ',' ORDER BY s.name) FROM device_software ds
          JOIN software_catalog s ON s.id = ds.software_id JOIN devices d ON d.id = ds.device_id
          WHERE d.agent_id = '$agent'")" = "Alpha,Delta,Gamma" ] || fail "set after the other writer"
[ "$(sql "SELECT software_rev FROM devices WHERE agent_id = '$agent'")" = 4 ] ||
  fail "software_rev: $(sql "SELECT software_rev FROM devices WHERE agent_id = '$agent'")"
! grep -q 'a cache was stale' "$t_dir/ingest.log" || fail "the changed set was found by the retry, not by its revision"
sets=$(curl -sS "http://127.0.0.1:$TALLY_INGEST_METRICS_PORT/metrics" | awk '$1 ~ /^tally_ingest_software_sets_total/')
grep -q 'source="cache"} [1-9]' <<<"$sets" && grep -q 'source="database"} [1-9]' <<<"$sets" ||
  fail "software sets by source: $sets"
pass "a set changed by another writer (a new software_rev) is read afresh: exactly its difference recorded"

# Ingest caches catalog ids, and tally_ingest_software() checks each id
# against the tenant's catalog. With the catalog emptied behind ingest's back
# (Tally never deletes entries; an operator might), a list naming programs
# the worker has cached is refused (SQLSTATE TLY01), the cache cleared, and
# the retry stores the list under the names' new ids.
sql "TRUNCATE software_catalog, device_software, software_changes"
agent=7e7e7e7e-0000-4000-8000-000000000003
jq --arg agent "$agent" --argjson sw "[$(sw Alpha Acme 3.0), $(vc 14.44.35211)]" \
  '.batch_id = "7e7e7e7e-0000-4000-8000-000000000300" | .agent.id = $agent | .software = $sw |
   del(.patches)' "$base" >"$t_dir/stale.json"
read -r status body < <(post_batch "$key" "$t_dir/stale.json")
[ "$status" = 202 ] || fail "report after the catalog was emptied: $status $body"
wait_for "SELECT count(*) FROM inventory_reports r JOIN devices d ON d.id = r.device_id WHERE d.agent_id = '$agent'" 1 30
[ "$(sql "SELECT string_agg(s.name || ' ' || ds.version, ',' ORDER BY s.name) FROM device_software ds
          JOIN software_catalog s ON s.tenant_id = ds.tenant_id AND s.id = ds.software_id
          JOIN devices d ON d.id = ds.device_id WHERE d.agent_id = '$agent'")" = \
  "Alpha 3.0,Microsoft Visual C++ 2015-2022 Redistributable (x64) 14.44.35211" ] ||
  fail "the list stored after the catalog was emptied: $(sql "SELECT software_id, version FROM device_software")"
grep -q 'a cache was stale' "$t_dir/ingest.log" || fail "the stale cache went unnoticed"
# ... at once: not the held-and-retried path of a database outage.
retries=$(ingest_metric tally_ingest_store_retries_total)
[ "$retries" = 0 ] || fail "a stale cache cost $retries store retries"
pass "a stale catalog cache is noticed (TLY01), cleared, and the list stored at once under the new ids"
