#!/usr/bin/env bash
# The ingest ledger keeps TALLY_LEDGER_RETENTION_DAYS of rows, dead_letters
# TALLY_DEAD_LETTER_RETENTION_DAYS: ingest's maintenance (at start-up, then
# hourly) deletes older ones, in chunks, across tenants, and keeps the rest.
. "$(dirname "$0")/../lib/testlib.sh"

a=$(new_tenant "Old Batches")
b=$(new_tenant "New Batches")
sql "INSERT INTO ingested_batches (tenant_id, agent_id, batch_id, ingested_at)
     SELECT '$a', gen_random_uuid(), gen_random_uuid(), now() - interval '40 days'
       FROM generate_series(1, 12000)"
sql "INSERT INTO ingested_batches (tenant_id, agent_id, batch_id, ingested_at) VALUES
       ('$b', gen_random_uuid(), gen_random_uuid(), now() - interval '31 days'),
       ('$b', gen_random_uuid(), gen_random_uuid(), now() - interval '29 days'),
       ('$a', gen_random_uuid(), gen_random_uuid(), now() - interval '1 day')"

sql "INSERT INTO dead_letters (tenant_id, created_at, subject, stream_seq, reason, payload)
     SELECT CASE WHEN i % 2 = 0 THEN '$a'::uuid END, now() - make_interval(days => d), 'x', i, 'r', '\\x00'
       FROM unnest(ARRAY[120, 100, 91, 89, 0]) WITH ORDINALITY AS t(d, i)"

TALLY_LEDGER_RETENTION_DAYS=30 TALLY_DEAD_LETTER_RETENTION_DAYS=90 start_tally ingest
wait_for "SELECT count(*) FROM ingested_batches" 2 30
[ "$(sql "SELECT string_agg(tenant_id || ':' || extract(day FROM now() - ingested_at), ',' ORDER BY ingested_at)
          FROM ingested_batches")" = "$b:29,$a:1" ] || fail "kept: $(sql "SELECT tenant_id, ingested_at FROM ingested_batches")"
pruned=$(ingest_metric tally_ingest_ledger_pruned_total)
[ "$pruned" = 12001 ] || fail "tally_ingest_ledger_pruned_total = $pruned"
grep -q 'ledger: pruned 12001 rows older than 30 days' "$t_dir/ingest.log" || fail "no log line"
pass "ledger: 12,001 rows past 30 days pruned in chunks (two tenants), the 29-day and 1-day rows kept"

wait_for "SELECT count(*) FROM dead_letters" 2 30
[ "$(sql "SELECT string_agg(extract(day FROM now() - created_at)::text, ',' ORDER BY created_at) FROM dead_letters")" = 89,0 ] ||
  fail "dead letters kept: $(sql "SELECT created_at FROM dead_letters")"
pruned=$(ingest_metric tally_ingest_dead_letters_pruned_total)
[ "$pruned" = 3 ] || fail "tally_ingest_dead_letters_pruned_total = $pruned"
grep -q 'dead letters: pruned 3 rows older than 90 days' "$t_dir/ingest.log" || fail "no dead-letter log line"
pass "dead letters: the 3 rows past 90 days pruned (with and without a tenant), the 89-day and new ones kept"
