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
# TALLY_BENCH_ROUNDS (default 3) repeats 2 and 3 on the same stream (the
# tables emptied, ingest's consumer deleted so that it delivers the stream
# again), each drain right before its raw COPYs: the shared host's speed
# drifts by tens of per cent within minutes, and a round's ratio compares
# two loads taken a minute apart. The figures are the rounds' medians (the
# ratios: the median of the rounds' ratios), each round's in "rounds":
# single rounds of one code read 0.648-0.729 in three runs of make bench
# within half an hour, so one round alone says little.
#
# Before the rounds, a warm-up drain (TALLY_BENCH_WARMUP=0 leaves it out;
# its figures are in "warmup"): the raw COPYs always run on a PostgreSQL
# that has just taken a drain, and the first drain on a new stack pays
# what a running PostgreSQL paid long ago. On five fresh stacks the first
# drain took 9.8-11.3 s, the second 8.4-9.5 s (bench/README.md): the first
# created 42 new 16 MB WAL segments, each zero-filled and synced while the
# other backend waited for the WAL (the machine idled 1.9 s against
# 0.7 s), and with the segments made beforehand it still took the
# backends 1 s more system CPU and 2 s more in all. A second fill on a
# stack that had drained before drained as fast as the drain after it.
#
# CPU: ingest's, and with TALLY_BENCH_STACK (the directory of the stack,
# deploy/local/stack.sh's DIR) PostgreSQL's (the postmaster and all its
# children) and nats-server's, and the machine's idle time, per drain and
# for PostgreSQL per raw binary COPY; null without it.
#
# Needs build/tally and build/tally-fleet (TALLY_BENCH_BUILD), a keys file
# (TALLY_BENCH_KEYS: agent keys, one per line) and the stack's environment
# (TALLY_DATABASE_URL, TALLY_INGEST_DATABASE_URL, TALLY_OWNER_DATABASE_URL,
# TALLY_PG_SUPER_URL for CHECKPOINT, TALLY_NATS_URL). Writes the figures as
# JSON to OUT.json; progress on stderr.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
. "$root/deploy/local/lib.sh"
. "$root/bench/lib.sh"

out=${1:?usage: bench/drain.sh OUT.json}
build=$(cd "${TALLY_BENCH_BUILD:-$root/build}" && pwd)
keys=${TALLY_BENCH_KEYS:?TALLY_BENCH_KEYS: a file of agent keys}
backlog=${TALLY_BENCH_BACKLOG:-100000}
conns=${TALLY_BENCH_CONNECTIONS:-64}
rounds=${TALLY_BENCH_ROUNDS:-3}
warmup=${TALLY_BENCH_WARMUP:-1}
stack=${TALLY_BENCH_STACK:-}
pg_pid=""
nats_pid=""
if [ -n "$stack" ]; then
  pg_pid=$(head -n 1 "$stack/pg/data/postmaster.pid") || die "TALLY_BENCH_STACK: no PostgreSQL in $stack"
  nats_pid=$(pgrep -f -x "nats-server -c $stack/nats.conf") ||
    die "TALLY_BENCH_STACK: no nats-server of $stack"
fi
# pg_cpu / nats_cpu: the stack's CPU seconds so far ("null" without TALLY_BENCH_STACK)
pg_cpu() { if [ -n "$pg_pid" ]; then tree_cpu "$pg_pid"; else echo null; fi; }
nats_cpu() { if [ -n "$nats_pid" ]; then cpu_s "$nats_pid"; else echo null; fi; }
# delta A B: B - A, or null when A is
delta() { if [ "$1" = null ]; then echo null; else elapsed "$1" "$2"; fi; }
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
unlimited_rates # an even backlog: about 50 reports a device
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

# settle: what one phase left behind is not the next one's to pay. The OS
# writes back its dirty pages, and PostgreSQL checkpoints: a round writes
# about 2 GB of WAL, which starts a checkpoint (max_wal_size 4GB) in the
# middle of whichever phase comes then, slowing it with the checkpoint's
# writes and the full-page images that follow it. Every measured phase
# starts right after one.
settle() {
  sync
  "$bench_psql" "$TALLY_PG_SUPER_URL/postgres" -qAt -v ON_ERROR_STOP=1 -c CHECKPOINT >/dev/null
}

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

# 2. Drain: sets drain_s, ingest_cpu, pg_cpu_s, nats_cpu_s, idle, ingest_rss,
# counts, total, rows_s. The backlog is on disk first, as one left by an
# outage would be: the writeback of the fill (gigabytes the stream and
# serve's logs left in the page cache) is not the drain's.
drain() {
  local last=-1 still=0 reports t c
  settle
  local pg0 nats0 idle0 drain_start
  pg0=$(pg_cpu)
  nats0=$(nats_cpu)
  idle0=$(idle_s)
  "$build/tally" ingest >>"$work/ingest.log" 2>&1 &
  ingest_pid=$!
  drain_start=$(now)
  while :; do
    stored 2>/dev/null
    [ "$n" -ge "$unique" ] && break
    if [ "$n" = "$last" ]; then still=$((still + 1)); else still=0; fi
    last=$n
    [ "$still" -lt 200 ] || die "ingest made no progress for 20 s: $n of $unique batches"
    sleep 0.1
  done
  drain_s=$(elapsed "$drain_start" "$(now)")
  pg_cpu_s=$(delta "$pg0" "$(pg_cpu)")
  nats_cpu_s=$(delta "$nats0" "$(nats_cpu)")
  idle=$(delta "$idle0" "$(idle_s)")
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
  say "  CPU s: ingest $ingest_cpu, PostgreSQL $pg_cpu_s, nats-server $nats_cpu_s; the machine idled ${idle}s"
}

# 3. Raw COPY of the same rows into the same tables, in each of COPY's
# formats: text, and binary (what ingest writes the event tables in; the
# faster, so the limit the ratio is taken against).
raw_copy() { # text|binary: prints "seconds rows/s PostgreSQL-CPU-seconds"
  local format=$1 script=$work/copy-$1.sql t start s copied pg0 pg_used
  echo "BEGIN;" >"$script"
  for t in "${tables[@]}"; do
    "$bench_psql" "$TALLY_OWNER_DATABASE_URL" -qAt -v ON_ERROR_STOP=1 \
      -c "\\copy (SELECT * FROM $t) TO '$work/$t.$format' WITH (FORMAT $format)"
    echo "\\copy $t FROM '$work/$t.$format' WITH (FORMAT $format)" >>"$script"
  done
  echo "COMMIT;" >>"$script"
  sql "TRUNCATE $all_tables"
  settle
  pg0=$(pg_cpu)
  start=$(now)
  "$bench_psql" "$TALLY_OWNER_DATABASE_URL" -qAt -v ON_ERROR_STOP=1 -f "$script" >/dev/null
  s=$(elapsed "$start" "$(now)")
  pg_used=$(delta "$pg0" "$(pg_cpu)")
  copied=0
  for t in "${tables[@]}"; do copied=$((copied + $(rows_of "$t"))); done
  [ "$copied" -eq "$total" ] || die "raw $format COPY wrote $copied rows, expected $total"
  rm -f "$work"/*."$format"
  awk -v r="$total" -v s="$s" -v c="$pg_used" 'BEGIN { printf "%s %.0f %s\n", s, r / s, c }'
}

# The stream delivered again from its start: the tables emptied, ingest's
# consumer deleted.
again() {
  say "  $1: the tables emptied, ingest's consumer deleted"
  sql "TRUNCATE $all_tables"
  nats_request "$TALLY_NATS_URL" "\$JS.API.CONSUMER.DELETE.$TALLY_STREAM_NAME.tally-ingest" |
    jq -e '.success == true' >/dev/null || die "could not delete ingest's consumer"
}

warm_json=null
if [ "$warmup" = 1 ]; then
  say "  warm-up drain (not compared)"
  drain
  warm_json=$(jq -nc --argjson s "$drain_s" --argjson r "$rows_s" --argjson c "$ingest_cpu" \
    '{seconds: $s, rows_per_s: $r, cpu_s: $c}')
  again "round 1"
fi
for ((round = 1; round <= rounds; round++)); do
  [ "$round" = 1 ] || again "round $round"
  drain
  read -r text_s text_rows_s _ < <(raw_copy text)
  say "  raw COPY, text format: the same $total rows in ${text_s}s: $text_rows_s rows/s"
  read -r copy_s copy_rows_s copy_pg_cpu < <(raw_copy binary)
  say "  raw COPY, binary format: the same $total rows in ${copy_s}s: $copy_rows_s rows/s; PostgreSQL CPU ${copy_pg_cpu}s"
  jq -n --argjson drain_s "$drain_s" --argjson rows_s "$rows_s" --argjson cpu "$ingest_cpu" \
    --argjson pg_cpu "$pg_cpu_s" --argjson nats_cpu "$nats_cpu_s" --argjson idle "$idle" \
    --argjson rss "$ingest_rss" --argjson copy_s "$copy_s" --argjson copy_rows_s "$copy_rows_s" \
    --argjson copy_pg_cpu "$copy_pg_cpu" \
    --argjson text_s "$text_s" --argjson text_rows_s "$text_rows_s" \
    '{seconds: $drain_s, rows_per_s: $rows_s, cpu_s: $cpu, peak_rss_mib: $rss,
      postgres_cpu_s: $pg_cpu, nats_cpu_s: $nats_cpu, idle_s: $idle,
      raw_copy_seconds: $copy_s, raw_copy_rows_per_s: $copy_rows_s,
      raw_copy_postgres_cpu_s: $copy_pg_cpu,
      raw_copy_text_seconds: $text_s, raw_copy_text_rows_per_s: $text_rows_s,
      ratio: (($rows_s / $copy_rows_s * 1000 | round) / 1000),
      ratio_text: (($rows_s / $text_rows_s * 1000 | round) / 1000)}' >>"$work/rounds.jsonl"
done

# Each figure's median over the rounds (of an even count, the mean of the
# middle two).
jq -s --argjson fill "$(cat "$work/fill.json")" --argjson fill_s "$fill_s" \
  --argjson batches "$unique" --argjson rows "$total" --argjson tables "$counts" \
  --argjson warmup "$warm_json" '
  def median(f): map(f) | sort | (.[(length - 1) / 2 | floor] + .[length / 2 | floor]) / 2;
  def median_or_null(f): if any(.[]; f == null) then null else median(f) end;
  . as $r
  | {backlog_batches: $batches, fill: {seconds: $fill_s, accepted_per_s: $fill.accepted_per_s},
     ingest: {seconds: median(.seconds), rows: $rows, rows_per_s: (median(.rows_per_s) | round),
              batches_per_s: (($batches / median(.seconds)) | floor), cpu_s: median(.cpu_s),
              postgres_cpu_s: median_or_null(.postgres_cpu_s),
              nats_cpu_s: median_or_null(.nats_cpu_s), idle_s: median_or_null(.idle_s),
              peak_rss_mib: median(.peak_rss_mib), rows_by_table: $tables},
     raw_copy: {format: "binary", seconds: median(.raw_copy_seconds),
                rows_per_s: (median(.raw_copy_rows_per_s) | round),
                postgres_cpu_s: median_or_null(.raw_copy_postgres_cpu_s)},
     raw_copy_text: {format: "text", seconds: median(.raw_copy_text_seconds),
                     rows_per_s: (median(.raw_copy_text_rows_per_s) | round)},
     ratio: median(.ratio), ratio_text: median(.ratio_text), rounds: $r, warmup: $warmup}' \
  "$work/rounds.jsonl" >"$out"
