#!/usr/bin/env bash
# Migrations apply once, concurrently safe; partitions are created ahead,
# old ones dropped, idempotently; rows outside the window fail loudly.
. "$(dirname "$0")/../lib/testlib.sh"   # has already migrated once

count=$(sql "SELECT count(*) FROM tally_schema_migrations")
[ "$count" -ge 3 ] || fail "expected >= 3 recorded migrations, got $count"
"$TALLY_BIN" migrate 2>"$t_dir/again.log" || fail "second migrate"
grep -q '"schema up to date: 0 applied now' "$t_dir/again.log" || fail "second migrate applied something"
pass "re-running migrate applies nothing"

# Two replicas migrating a fresh database at once: both succeed, each
# migration recorded once.
psql "$TALLY_PG_SUPER_URL/postgres" -q -v ON_ERROR_STOP=1 \
  -c "DROP DATABASE IF EXISTS ${t_db}_race WITH (FORCE)" -c "CREATE DATABASE ${t_db}_race OWNER tally_owner" \
  -c "\\connect ${t_db}_race" -c "ALTER SCHEMA public OWNER TO tally_owner" >/dev/null
race_url=${TALLY_OWNER_DATABASE_URL%/*}/${t_db}_race
TALLY_OWNER_DATABASE_URL=$race_url "$TALLY_BIN" migrate 2>"$t_dir/r1.log" & p1=$!
TALLY_OWNER_DATABASE_URL=$race_url "$TALLY_BIN" migrate 2>"$t_dir/r2.log" & p2=$!
wait $p1 || fail "concurrent migrate 1: $(cat "$t_dir/r1.log")"
wait $p2 || fail "concurrent migrate 2: $(cat "$t_dir/r2.log")"
[ "$(psql "$race_url" -qAt -c "SELECT count(*) = count(DISTINCT version) AND count(*) = $count FROM tally_schema_migrations")" = t ] ||
  fail "concurrent migrations recorded twice or missed"
psql "$TALLY_PG_SUPER_URL/postgres" -q -c "DROP DATABASE ${t_db}_race WITH (FORCE)" >/dev/null
pass "two concurrent migrate runs: both succeed, each migration applied once"

# A migration whose text changed after it was applied is refused.
sql "UPDATE tally_schema_migrations SET checksum = 'tampered' WHERE version = 1"
if "$TALLY_BIN" migrate 2>"$t_dir/tamper.log"; then fail "migrate accepted a changed migration"; fi
grep -q 'was changed after it was applied' "$t_dir/tamper.log" || fail "tamper message"
pass "a changed migration is refused"

# Partitions: yesterday .. today+7 exist (defaults), named by UTC day.
parts() { sql "SELECT string_agg(c.relname, ',' ORDER BY c.relname) FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = 'inventory_reports'::regclass"; }
want=$(sql "SELECT string_agg('inventory_reports_p' || to_char(d, 'YYYYMMDD'), ',' ORDER BY d)
              FROM generate_series((now() AT TIME ZONE 'UTC')::date - 1, (now() AT TIME ZONE 'UTC')::date + 7, '1 day') d")
[ "$(parts)" = "$want" ] || fail "partitions: got $(parts), want $want"
pass "daily partitions from yesterday to 7 days ahead"

# Maintenance is idempotent, creates further ahead when asked, and drops
# partitions past retention (an old one made by hand).
[ -z "$(sql "SELECT tally_maintain_partitions(7, 30)")" ] || fail "second maintenance did something"
sql "CREATE TABLE inventory_reports_p20200101 PARTITION OF inventory_reports FOR VALUES FROM ('2020-01-01 00:00+00') TO ('2020-01-02 00:00+00')"
actions=$(sql "SELECT tally_maintain_partitions(9, 30)" | sort)
tables=$(sql "SELECT count(*) FROM tally_partitioned_tables")
[ "$(grep -c '^created ' <<<"$actions")" = $((2 * tables)) ] || fail "expected 2 new partitions per table: $actions"
[ "$(grep '^dropped ' <<<"$actions")" = "dropped inventory_reports_p20200101" ] || fail "drops: $actions"
actions=$(grep -c . <<<"$actions")
pass "maintenance: idempotent, creates 2 more days for each of $tables tables, drops past retention ($actions actions)"

# Days maintenance missed (it did not run) leave no gap in the window: a kept
# partition five days old, and maintenance adds the three days between it
# and yesterday.
day() { sql "SELECT to_char((now() AT TIME ZONE 'UTC')::date - $1, 'YYYYMMDD')"; }
sql "CREATE TABLE inventory_reports_p$(day 5) PARTITION OF inventory_reports
       FOR VALUES FROM ('$(day 5) 00:00+00') TO ('$(day 4) 00:00+00')"
actions=$(sql "SELECT tally_maintain_partitions(9, 30)" | sort | paste -sd ' ')
want="created inventory_reports_p$(day 4) created inventory_reports_p$(day 3) created inventory_reports_p$(day 2)"
[ "$actions" = "$want" ] || fail "gap: got '$actions', want '$want'"
pass "maintenance fills the gap between the oldest kept partition and yesterday"

# No default partition: a row outside every partition is an error, not a
# silent catch-all.
if sql "INSERT INTO inventory_reports (tenant_id, received_at, device_id, batch_id, body_bytes,
          software_count, patch_count, process_event_count, network_event_count, file_event_count, metric_count)
        VALUES (gen_random_uuid(), '2019-06-01', gen_random_uuid(), gen_random_uuid(), 1, 0,0,0,0,0,0)" 2>"$t_dir/err"; then
  fail "a row outside the partitioned window was accepted"
fi
grep -q 'no partition of relation' "$t_dir/err" || fail "unexpected error: $(cat "$t_dir/err")"
pass "out-of-window rows fail loudly (no default partition)"

# Partitions have no policies of their own, so the application role must
# not reach them directly, only through the parent (where RLS applies).
part="inventory_reports_p$(date -u +%Y%m%d)"
if psql "$TALLY_DATABASE_URL" -qAt -c "SELECT count(*) FROM $part" 2>"$t_dir/err"; then
  fail "the application role can read partition $part directly"
fi
grep -q 'permission denied' "$t_dir/err" || fail "unexpected error: $(cat "$t_dir/err")"
psql "$TALLY_DATABASE_URL" -qAt -c "SELECT count(*) FROM inventory_reports" >/dev/null ||
  fail "the parent must stay readable"
pass "partitions are closed to the application role; the parent (with RLS) is open"

# The application role (serve) cannot run ingest's functions; ingest's role can.
for f in "tally_ingest_begin()" "tally_maintain_partitions(7, 30)" "tally_event_window('process_events')"; do
  if psql "$TALLY_DATABASE_URL" -qAt -c "SELECT $f" >/dev/null 2>"$t_dir/err"; then
    fail "the application role may run $f"
  fi
  grep -q 'permission denied' "$t_dir/err" || fail "$f: $(cat "$t_dir/err")"
done
psql "$TALLY_INGEST_DATABASE_URL" -qAt -c "SELECT tally_event_window('process_events')" >/dev/null ||
  fail "the ingest role cannot read a window"
pass "ingest's functions are closed to the application role"

# Retention per table: `tally admin set-retention` makes process_events keep
# 3 days; a 5-day-old partition of it goes at the next maintenance, while the
# same day of file_events (default 30 days) stays. "default" undoes it.
read -r old from to < <(sql "SELECT to_char(d, 'YYYYMMDD'), d, d + 1
                               FROM (SELECT (now() AT TIME ZONE 'UTC')::date - 5 AS d) x" | tr '|' ' ')
for t in process_events file_events; do
  sql "CREATE TABLE ${t}_p$old PARTITION OF $t FOR VALUES FROM ('$from 00:00+00') TO ('$to 00:00+00')"
done
out=$("$TALLY_BIN" admin set-retention --table process_events --days 3) || fail "set-retention"
[ "$out" = '{"table":"process_events","retention_days":"3"}' ] || fail "set-retention said $out"
if "$TALLY_BIN" admin set-retention --table devices --days 3 2>"$t_dir/err"; then
  fail "set-retention accepted a table that is not partitioned"
fi
if "$TALLY_BIN" admin set-retention --table file_events --days 0 2>"$t_dir/err"; then
  fail "set-retention accepted 0 days"
fi
actions=$(sql "SELECT tally_maintain_partitions(9, 30)" | paste -sd ' ')
# (file_events keeps its old day, so the days after it are filled in.)
want="created file_events_p$(day 4) created file_events_p$(day 3) created file_events_p$(day 2)"
[ "$actions" = "$want dropped process_events_p$old" ] || fail "per-table retention: $actions"
[ "$(sql "SELECT count(*) FROM pg_class WHERE relname = 'file_events_p$old'")" = 1 ] ||
  fail "file_events lost its partition of $old"
"$TALLY_BIN" admin set-retention --table process_events --days default >/dev/null || fail "reset"
[ "$(sql "SELECT retention_days IS NULL FROM tally_partitioned_tables WHERE parent_table = 'process_events'")" = t ] ||
  fail "set-retention --days default did not reset"
pass "per-table retention: process_events keeps 3 days, file_events the default 30"

# The windows ingest routes events by (tally_ingest_begin(), once per fetch)
# are each table's partition days, as tally_event_window() reads them: here
# file_events reaches 5 days back, the other three start yesterday (where
# maintenance starts).
begin=$(psql "$TALLY_INGEST_DATABASE_URL" -qAt -F' ' -c "SELECT * FROM tally_ingest_begin() ORDER BY 1")
each=$(psql "$TALLY_INGEST_DATABASE_URL" -qAt -F' ' -c "
  SELECT t, (extract(epoch FROM w.lower_bound) * 1000000)::bigint,
         (extract(epoch FROM w.upper_bound) * 1000000)::bigint
    FROM unnest(ARRAY['device_metrics', 'file_events', 'network_events', 'process_events']) t,
         tally_event_window(t) w ORDER BY 1")
[ "$begin" = "$each" ] || fail "tally_ingest_begin() answered $begin; tally_event_window() $each"
from_days=$(psql "$TALLY_INGEST_DATABASE_URL" -qAt -c "
  SELECT string_agg(event_table || '=' || ((now() AT TIME ZONE 'UTC')::date
                    - (to_timestamp(lower_us / 1e6) AT TIME ZONE 'UTC')::date), ' ' ORDER BY event_table)
    FROM tally_ingest_begin()")
[ "$from_days" = "device_metrics=1 file_events=5 network_events=1 process_events=1" ] ||
  fail "windows start (days ago): $from_days"
[ "$(psql "$TALLY_INGEST_DATABASE_URL" -qAt -c "SELECT count(*) FROM tally_event_windows(ARRAY['out_of_window_events']) WHERE lower_bound IS NULL AND upper_bound IS NULL")" = 1 ] ||
  fail "a table without partitions must have no window"
pass "ingest's windows: each table's partition days ($from_days days back), none without partitions"
