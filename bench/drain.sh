#!/usr/bin/env bash
# Usage: bench/drain.sh OUT.json
#
# Ingest's throughput next to its raw limit, on a running stack (bench/run.sh
# calls it as phase g; alone, source a stack's stack.env first, e.g.
# `set -a; . .local/stack.env; set +a`; it TRUNCATEs the data tables):
#
#   1. serve alone takes TALLY_BENCH_BACKLOG batches (default 100,000) from
#      tally-fleet --mode max into a fresh stream: a backlog, as after an
#      ingest or PostgreSQL outage;
#   2. tally ingest starts and drains it: rows landed / drain time;
#   3. raw COPY: the very rows now in the tables, exported, the tables
#      emptied, and COPYed back into the same tables over one connection in
#      one transaction (psql \copy): rows / COPY time; once in COPY's text
#      format and once in its binary format (the faster: the raw limit).
#
# Needs build/tally and build/tally-fleet (TALLY_BENCH_BUILD), a keys file
# (TALLY_BENCH_KEYS: agent keys, one per line) and the stack's environment
# (TALLY_DATABASE_URL, TALLY_INGEST_DATABASE_URL, TALLY_OWNER_DATABASE_URL,
# TALLY_NATS_URL). Writes the figures as JSON to OUT.json; progress on stderr.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
. "$root/deploy/local/lib.sh"
. "$root/bench/lib.sh"

out=${1:?usage: bench/drain.sh OUT.json}
build=$(cd "${TALLY_BENCH_BUILD:-$root/build}" && pwd)
keys=${TALLY_BENCH_KEYS:?TALLY_BENCH_KEYS: a file of agent keys}
backlog=${TALLY_BENCH_BACKLOG:-100000}
conns=${TALLY_BENCH_CONNECTIONS:-64}
work=$(mktemp -d /tmp/tally-drain.XXXXXX)
serve_pid=""
ingest_pid=""

cleanup() {
  local rc=$?
  stop_pid "$ingest_pid"
  stop_pid "$serve_pid"
  [ "$rc" -eq 0 ] || tail -n 5 "$work"/*.log >&2 2>/dev/null || true
  rm -rf "$work"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Every table ingest writes, parents before children (foreign keys).
tables=(devices software_catalog ingested_batches inventory_reports process_events network_events
  file_events device_metrics out_of_window_events device_software software_changes device_patches)
all_tables=$(
  IFS=,
  echo "${tables[*]}"
)
rows_of() { sql "SELECT count(*) FROM $1"; }

export TALLY_STREAM_NAME=BENCH_DRAIN TALLY_SUBJECT_PREFIX=bench.drain
export TALLY_HTTP_ADDR=127.0.0.1
TALLY_HTTP_PORT=$(free_port)
TALLY_INGEST_METRICS_PORT=$(free_port)
export TALLY_HTTP_PORT TALLY_URL="http://127.0.0.1:$TALLY_HTTP_PORT"
export TALLY_INGEST_METRICS_PORT TALLY_INGEST_METRICS_ADDR=127.0.0.1
sql "TRUNCATE $all_tables"

# 1. The backlog, through serve (validated, published, PubAck'd).
"$build/tally" serve >>"$work/serve.log" 2>&1 &
serve_pid=$!
wait_port "$TALLY_HTTP_PORT" 30 || die "serve did not listen"
say "g. backlog: tally-fleet --mode max --batches $backlog, 2000 devices, serve only"
fill_start=$(now)
"$build/tally-fleet" --url "$TALLY_URL" --keys-file "$keys" --mode max --devices 2000 --database-url '' \
  --connections "$conns" --batches "$backlog" --duration 3600 --policy-every 0 --quiet \
  --json-out "$work/fill.json" >"$work/fill.out" 2>"$work/fill.err" ||
  die "tally-fleet failed: $(tail -3 "$work/fill.err")"
fill_s=$(elapsed "$fill_start" "$(now)")
stop_pid "$serve_pid"
serve_pid=""
unique=$(jq '.accepted - .duplicates' "$work/fill.json")
say "  $unique batches in the stream after ${fill_s}s ($(jq .accepted_per_s "$work/fill.json")/s)"

# 2. Drain. The backlog is on disk first, as one left by an outage would be:
# the writeback of the fill (gigabytes the stream and serve's logs left in
# the page cache) is not the drain's.
sync
"$build/tally" ingest >>"$work/ingest.log" 2>&1 &
ingest_pid=$!
drain_start=$(now)
# Progress comes from ingest's own counter of committed batches, read every
# 0.1 s (about 2 ms of CPU each): polling PostgreSQL instead (a psql
# connection and a count(*) each time) took about 9 % of the machine's CPU
# from the drain it measured, curl 4 %.
stored() { # sets n to tally_ingest_messages_total{outcome="stored"}
  local out key='tally_ingest_messages_total{outcome="stored"} '
  n=0
  exec 3<>"/dev/tcp/127.0.0.1/$TALLY_INGEST_METRICS_PORT" || return 0
  printf 'GET /metrics HTTP/1.0\r\n\r\n' >&3
  out=$(cat <&3) # bash's own read takes a socket a byte at a time
  exec 3<&-
  case $out in *"$key"*) n=${out#*"$key"} && n=${n%%$'\n'*} ;; esac
}
last=-1
still=0
while :; do
  stored 2>/dev/null
  [ "$n" -ge "$unique" ] && break
  if [ "$n" = "$last" ]; then still=$((still + 1)); else still=0; fi
  last=$n
  [ "$still" -lt 200 ] || die "ingest made no progress for 20 s: $n of $unique batches"
  sleep 0.1
done
drain_s=$(elapsed "$drain_start" "$(now)")
reports=$(rows_of inventory_reports)
[ "$reports" -eq "$unique" ] || die "ingest counted $n batches stored, inventory_reports has $reports"
ingest_cpu=$(cpu_s "$ingest_pid")
ingest_rss=$(hwm_mib "$ingest_pid")
stop_pid "$ingest_pid"
ingest_pid=""

counts="{}"
total=0
for t in "${tables[@]}"; do
  c=$(rows_of "$t")
  total=$((total + c))
  counts=$(jq -c --arg t "$t" --argjson c "$c" '. + {($t): $c}' <<<"$counts")
done
rows_s=$(awk -v r="$total" -v s="$drain_s" 'BEGIN { printf "%.0f\n", r / s }')
say "  ingest: $total rows ($unique batches) in ${drain_s}s: $rows_s rows/s; $counts"

# 3. Raw COPY of the same rows into the same tables, in each of COPY's
# formats: text, and binary (what ingest writes the event tables in; the
# faster, so the limit the ratio is taken against).
raw_copy() { # text|binary: prints "seconds rows/s"
  local format=$1 script=$work/copy-$1.sql t start s copied
  echo "BEGIN;" >"$script"
  for t in "${tables[@]}"; do
    "$bench_psql" "$TALLY_OWNER_DATABASE_URL" -qAt -v ON_ERROR_STOP=1 \
      -c "\\copy (SELECT * FROM $t) TO '$work/$t.$format' WITH (FORMAT $format)"
    echo "\\copy $t FROM '$work/$t.$format' WITH (FORMAT $format)" >>"$script"
  done
  echo "COMMIT;" >>"$script"
  sql "TRUNCATE $all_tables"
  sync # the drain's writeback is not the raw COPY's either
  start=$(now)
  "$bench_psql" "$TALLY_OWNER_DATABASE_URL" -qAt -v ON_ERROR_STOP=1 -f "$script" >/dev/null
  s=$(elapsed "$start" "$(now)")
  copied=0
  for t in "${tables[@]}"; do copied=$((copied + $(rows_of "$t"))); done
  [ "$copied" -eq "$total" ] || die "raw $format COPY wrote $copied rows, expected $total"
  rm -f "$work"/*."$format"
  awk -v r="$total" -v s="$s" 'BEGIN { printf "%s %.0f\n", s, r / s }'
}
read -r text_s text_rows_s < <(raw_copy text)
say "  raw COPY, text format: the same $total rows in ${text_s}s: $text_rows_s rows/s"
read -r copy_s copy_rows_s < <(raw_copy binary)
say "  raw COPY, binary format: the same $total rows in ${copy_s}s: $copy_rows_s rows/s"

jq -n --argjson fill "$(cat "$work/fill.json")" --argjson fill_s "$fill_s" \
  --argjson batches "$unique" --argjson rows "$total" --argjson tables "$counts" \
  --argjson drain_s "$drain_s" --argjson rows_s "$rows_s" --argjson cpu "$ingest_cpu" \
  --argjson rss "$ingest_rss" --argjson copy_s "$copy_s" --argjson copy_rows_s "$copy_rows_s" \
  --argjson text_s "$text_s" --argjson text_rows_s "$text_rows_s" \
  '{backlog_batches: $batches, fill: {seconds: $fill_s, accepted_per_s: $fill.accepted_per_s},
    ingest: {seconds: $drain_s, rows: $rows, rows_per_s: $rows_s,
             batches_per_s: (($batches / $drain_s) | floor), cpu_s: $cpu, peak_rss_mib: $rss,
             rows_by_table: $tables},
    raw_copy: {format: "binary", seconds: $copy_s, rows_per_s: $copy_rows_s},
    raw_copy_text: {format: "text", seconds: $text_s, rows_per_s: $text_rows_s},
    ratio: (($rows_s / $copy_rows_s * 1000 | round) / 1000),
    ratio_text: (($rows_s / $text_rows_s * 1000 | round) / 1000)}' >"$out"
