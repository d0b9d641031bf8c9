#!/usr/bin/env bash
# Usage: bench/run.sh            (what `make bench` runs, after building)
#
# The standard benchmark suite: Tally's figures next to the raw limits of
# this machine, measured in the same run, on a private stack
# (deploy/local/stack.sh on free ports in a temporary directory, removed at
# the end). It builds nothing: build/ must hold tally, tally-fleet,
# tally-jspub and tally-nullhttp. Progress goes to stderr; the table to stdout; the figures to
# bench/results/latest.json and the fleet runs' timelines to
# bench/results/fleet-max.png and fleet-storm.png (if gnuplot is installed).
# Benchmarks print figures; nothing here passes or fails on a number.
#
# Phases, each a fixed short run:
#   a. do-nothing HTTP: wrk POSTing the batch to tally-nullhttp (libmicrohttpd
#      as serve sets it up, answering 202 without work); and wrk on GET /healthz
#      of tally serve (same server and threads, no body)
#   b. accept rate: wrk POSTing one realistic batch (fresh batch_id each), serve only
#   c. half load: the same wrk, paced to half of b's rate, serve only
#   d. raw JetStream: tally-jspub, the same payload, 4096 and 64 in flight
#   e. fleet max: tally-fleet --mode max with ingest running; rows landed in PostgreSQL
#   f. storm: tally-fleet --mode storm; time until the backlog is accepted and stored
#   g. ingest drain: a backlog of TALLY_BENCH_BACKLOG batches (serve alone fills
#      the stream), then ingest drains it: rows/s next to raw COPY of the same
#      rows into the same tables (bench/drain.sh)
#   h. freshness: tally-fleet --mode steady at half of e's end-to-end rate
#
# Environment: TALLY_BENCH_BUILD (default build), TALLY_BENCH_OUT (default
# bench/results), TALLY_BENCH_DURATION (seconds per phase, default 10),
# TALLY_BENCH_CONNECTIONS (default 64), TALLY_BENCH_BACKLOG (batches of
# phase g, default 100000), TALLY_BENCH_KEEP=1 keeps the
# temporary directory (logs, data). TALLY_* server settings in the
# environment (e.g. TALLY_LOG_LEVEL, TALLY_HTTP_THREADS) pass through to serve.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
. "$root/deploy/local/lib.sh"
. "$root/bench/lib.sh"

build=$(cd "${TALLY_BENCH_BUILD:-$root/build}" && pwd)
out_dir=${TALLY_BENCH_OUT:-$root/bench/results}
dur=${TALLY_BENCH_DURATION:-10}
conns=${TALLY_BENCH_CONNECTIONS:-64}
tally=$build/tally
fleet=$build/tally-fleet
nullhttp=$build/tally-nullhttp
jspub=$build/tally-jspub
# bench/batch.lua makes every batch_id unique and can pace requests.
lua=$root/bench/batch.lua


for b in "$tally" "$fleet" "$jspub" "$nullhttp"; do
  [ -x "$b" ] || die "$b is missing: build first (make bench builds)"
done
for t in wrk jq psql gzip awk; do
  command -v "$t" >/dev/null || die "$t is not installed (deploy/local/deps.sh)"
done

suite_start=$(date +%s)
# `time` (the keyword) prints the user and system CPU seconds of what it ran:
# the load generators' CPU per request, next to the servers'.
TIMEFORMAT='%U %S'
# Other work on the machine skews every figure: the load before and after is reported.
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
work=$(mktemp -d /tmp/tally-bench.XXXXXX)
# PostgreSQL runs as the postgres user when we are root: it must reach the data.
chmod 755 "$work"
mkdir -p "$work/stack" "$out_dir"
stack_pid=""
serve_pid=""
ingest_pid=""
sampler_pid=""


cleanup() {
  local rc=$? i
  trap - EXIT INT TERM
  stop_pid "$sampler_pid"
  stop_pid "$ingest_pid"
  stop_pid "$serve_pid"
  if [ -n "$stack_pid" ]; then
    kill -TERM "$stack_pid" 2>/dev/null || true
    for ((i = 0; i < 600; i++)); do
      [ -f "$work/stack/stopped" ] && break
      alive "$stack_pid" || break
      sleep 0.1
    done
    wait "$stack_pid" 2>/dev/null || true
  fi
  if [ "$rc" -ne 0 ]; then
    say "failed (exit $rc); last log lines:"
    tail -n 5 "$work"/*.log "$work"/stack/log/*.log 2>/dev/null >&2 || true
  fi
  if [ "${TALLY_BENCH_KEEP:-0}" = 1 ]; then
    say "kept $work"
  else
    rm -rf "$work"
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- helpers ----------------------------------------------------------------

# 12345.6 -> 12,346
thousands() {
  awk -v v="$1" 'BEGIN {
    if (v == "" || v == "null") { print "-"; exit }
    s = sprintf("%.0f", v); neg = (s ~ /^-/); if (neg) s = substr(s, 2)
    out = ""; while (length(s) > 3) { out = "," substr(s, length(s) - 2) out; s = substr(s, 1, length(s) - 3) }
    print (neg ? "-" : "") s out }'
}

# percent A B -> "14 %" (A / B)
percent() {
  awk -v a="$1" -v b="$2" 'BEGIN { if (b + 0 <= 0 || a == "" || a == "null") print "-"; else printf "%.0f %%\n", 100 * a / b }'
}

# times A B -> "3.1x" (A / B)
times_of() {
  awk -v a="$1" -v b="$2" 'BEGIN { if (b + 0 <= 0 || a == "" || a == "null") print "-"; else printf "%.1fx\n", a / b }'
}

# ms V -> "1.23 ms"
ms() {
  awk -v v="$1" 'BEGIN { if (v == "" || v == "null") print "-"; else if (v >= 1000) printf "%.2f s\n", v / 1000; else printf "%.2f ms\n", v }'
}

# wrk_json FILE -> the figures of a wrk --latency report as JSON (latency in ms)
wrk_json() {
  awk '
    function ms(v) {
      if (v ~ /us$/) return v / 1000
      if (v ~ /ms$/) return v + 0
      if (v ~ /m$/) return v * 60000
      if (v ~ /s$/) return v * 1000
      return v + 0
    }
    $1 == "Latency" && $2 != "Distribution" { avg = ms($2) }
    $1 == "50%" { p50 = ms($2) }
    $1 == "75%" { p75 = ms($2) }
    $1 == "90%" { p90 = ms($2) }
    $1 == "99%" { p99 = ms($2) }
    / requests in / { req = $1; v = $4; sub(/,$/, "", v); secs = ms(v) / 1000 }
    /^Requests\/sec:/ { rps = $2 }
    /^  Non-2xx or 3xx responses:/ { non2xx = $NF }
    /^  Socket errors:/ { gsub(/,/, ""); sock = $4 + $6 + $8 + $10 }
    END {
      printf "{\"requests\":%d,\"seconds\":%.2f,\"requests_per_s\":%.1f,", req, secs, rps
      printf "\"accepted_per_s\":%.1f,", (secs > 0 ? (req - non2xx) / secs : 0)
      printf "\"non_2xx\":%d,\"socket_errors\":%d,", non2xx, sock
      printf "\"latency_ms\":{\"mean\":%.3f,\"p50\":%.3f,\"p75\":%.3f,\"p90\":%.3f,\"p99\":%.3f}}\n", avg, p50, p75, p90, p99
    }' "$1"
}

reports() { sql "SELECT count(*) FROM inventory_reports"; }

# cpu_since CPU0 PID -> CPU seconds PID used since cpu_s said CPU0
cpu_since() { awk -v a="$1" -v b="$(cpu_s "$2")" 'BEGIN { printf "%.2f\n", b - a }'; }

# timed_cpu FILE -> the CPU seconds `time` wrote into FILE (user + system)
timed_cpu() { awk '{ printf "%.2f\n", $1 + $2 }' "$1"; }

# per_batch_us CPU_S N -> CPU microseconds per batch
per_batch_us() { awk -v c="$1" -v n="$2" 'BEGIN { if (n + 0 <= 0) print "null"; else printf "%.1f\n", c * 1e6 / n }'; }

# publishes OUTCOME → serve's tally_publishes_total{outcome=OUTCOME} so far
publishes() {
  curl -s "$TALLY_URL/metrics" | awk -v o="$1" '$1 == "tally_publishes_total{outcome=\"" o "\"}" { n = $2 } END { print n + 0 }'
}

# freshness UNIX_TIME -> "p50 p99" in ms of the batches received since then:
# received_at (serve, just before the publish) -> ingested_at (now() of the
# ingest transaction, i.e. its start, a little before the commit).
freshness() {
  # Fresh statistics first: after phase g's TRUNCATE and COPY the planner
  # knows nothing of these tables and joins them by nested loops.
  sql "ANALYZE inventory_reports, ingested_batches;
       SELECT coalesce(round((percentile_cont(0.5) WITHIN GROUP (ORDER BY ms))::numeric, 1)::text, 'null')
              || ' ' || coalesce(round((percentile_cont(0.99) WITHIN GROUP (ORDER BY ms))::numeric, 1)::text, 'null')
         FROM (SELECT extract(epoch FROM b.ingested_at - r.received_at) * 1000 AS ms
                 FROM inventory_reports r
                 JOIN ingested_batches b ON b.tenant_id = r.tenant_id AND b.batch_id = r.batch_id
                WHERE r.received_at >= to_timestamp($1)) x"
}

start_serve() {
  "$tally" serve >>"$work/serve.log" 2>&1 &
  serve_pid=$!
  wait_port "$TALLY_HTTP_PORT" 30 || die "serve did not listen; see $work/serve.log"
  local i
  for ((i = 0; i < 300; i++)); do
    [ "$(curl -s -o /dev/null -w '%{http_code}' "$TALLY_URL/readyz")" = 200 ] && return 0
    sleep 0.1
  done
  die "serve did not become ready; see $work/serve.log"
}

# Samples the row count once a second ("unix-time rows") into FILE.
start_sampler() {
  (
    while :; do
      echo "$(now) $(reports 2>/dev/null || echo -1)"
      sleep 1
    done
  ) >"$1" &
  sampler_pid=$!
}

# wait_rows TARGET -> seconds until inventory_reports holds TARGET rows
# (gives up after 180 s, or 60 s without progress, prints "null" then: a
# stalled ingest statement that ends within that is measured, and its plan
# logged, see slow_plans).
wait_rows() {
  local target=$1 t0 n last=-1 still=0
  t0=$(now)
  while :; do
    n=$(reports)
    [ "$n" -ge "$target" ] && { elapsed "$t0" "$(now)"; return; }
    if [ "$n" = "$last" ]; then still=$((still + 1)); else still=0; fi
    last=$n
    if [ "$still" -ge 120 ] || [ "$(elapsed "$t0" "$(now)" | cut -d. -f1)" -ge 180 ]; then
      say "gave up waiting: $n of $target batches"
      echo null
      return
    fi
    sleep 0.5
  done
}

# run_fleet NAME ARGS... -> runs tally-fleet, JSON in $work/NAME.json; sets
# fleet_start (estimated wall time of its t=0) and fleet_end.
run_fleet() {
  local name=$1
  shift
  # --database-url '': the suite measures PostgreSQL itself (wait_rows, freshness).
  "$fleet" --url "$TALLY_URL" --keys-file "$work/keys" --json-out "$work/$name.json" --database-url '' "$@" \
    >"$work/$name.out" 2>"$work/$name.err" || die "tally-fleet $name failed: $(tail -3 "$work/$name.err")"
  fleet_end=$(now)
  # Its clock starts after the set-up (devices, backlog): end minus elapsed.
  fleet_start=$(awk -v e="$fleet_end" -v d="$(jq .elapsed_s "$work/$name.json")" 'BEGIN { printf "%.3f\n", e - d }')
  say "  $(grep -E '^(accepted batches/s|latency ms)' "$work/$name.out" | tr -s ' ' | paste -sd ';' -)"
}

# --- the stack --------------------------------------------------------------

say "starting a private PostgreSQL and NATS in $work/stack"
# A statement that takes over 5 s gets its plan logged (auto_explain; the
# statements inside ingest's functions included): see slow_plans below.
export TALLY_PG_OPTIONS="-c shared_preload_libraries=auto_explain -c auto_explain.log_min_duration=5s
  -c auto_explain.log_nested_statements=on"
TALLY_PG_PORT=0 TALLY_NATS_PORT=0 setsid "$root/deploy/local/stack.sh" "$work/stack" \
  >"$work/stack.log" 2>&1 </dev/null &
stack_pid=$!
for ((i = 0; i < 1200; i++)); do
  [ -f "$work/stack/stack.env" ] && break
  alive "$stack_pid" || die "the stack failed to start: $(tail -5 "$work/stack.log")"
  sleep 0.1
done
[ -f "$work/stack/stack.env" ] || die "the stack did not start in 120 s"
set -a
. "$work/stack/stack.env"
set +a
# The stack's nats-server (its CPU per publish is part of the raw limit).
nats_pid=""
for p in /proc/[0-9]*; do
  # (a process may end between the glob and the read: its error goes with it)
  [ "$(tr '\0' ' ' 2>/dev/null <"$p/cmdline")" = "nats-server -c $work/stack/nats.conf " ] && nats_pid=${p#/proc/}
done
[ -n "$nats_pid" ] || die "cannot find the stack's nats-server"
export TALLY_HTTP_ADDR=127.0.0.1
# serve's /metrics on the API port: the suite reads its publish counts there.
unset TALLY_METRICS_PORT
TALLY_HTTP_PORT=$(free_port)
TALLY_INGEST_METRICS_PORT=$(free_port)
export TALLY_HTTP_PORT TALLY_INGEST_METRICS_PORT TALLY_INGEST_METRICS_ADDR=127.0.0.1
export TALLY_URL="http://127.0.0.1:$TALLY_HTTP_PORT"
unlimited_rates

"$tally" migrate 2>>"$work/migrate.log" || die "migrate failed; see $work/migrate.log"
: >"$work/keys"
for name in "Contoso Ltd" "Fabrikam Inc"; do
  tenant=$("$tally" admin create-tenant --name "$name" | jq -r .tenant_id)
  "$tally" admin create-api-key --tenant "$tenant" --name "bench agents" | jq -r .key >>"$work/keys"
done
TALLY_AGENT_KEY=$(head -n 1 "$work/keys")
export TALLY_AGENT_KEY

# The batch: the fleet's delta report (no software list: 11 of 12 reports)
# whose gzip size is nearest 2 KiB. 8 devices: the first 8 reports are full.
"$fleet" --dump 24 "$work/docs" --devices 8 --tenants 2 2>/dev/null
best=""
best_d=999999
for f in "$work"/docs/*.json; do
  [ "$(jq 'has("software")' "$f")" = false ] || continue
  gz=$(gzip -6c "$f" | wc -c)
  d=$((gz > 2048 ? gz - 2048 : 2048 - gz))
  if [ "$d" -lt "$best_d" ]; then
    best=$f
    best_d=$d
    best_gz=$gz
  fi
done
export TALLY_BATCH_FILE=$work/batch.json
cp "$best" "$TALLY_BATCH_FILE"
batch_bytes=$(wc -c <"$TALLY_BATCH_FILE")
say "batch: $batch_bytes bytes of JSON, $best_gz bytes gzipped"

# --- a/b/c: serve alone -----------------------------------------------------

export TALLY_STREAM_NAME=BENCH_EDGE TALLY_SUBJECT_PREFIX=bench.edge
start_serve
curl -s -o /dev/null "$TALLY_URL/healthz"

null_port=$(free_port)
say "a. do-nothing HTTP: wrk -t2 -c$conns -d${dur}s POST ($batch_bytes-byte batch) to tally-nullhttp (202, no work)"
"$nullhttp" --port "$null_port" >"$work/nullhttp.log" 2>&1 &
null_pid=$!
wait_port "$null_port" 10 || die "tally-nullhttp did not listen"
{ time TALLY_BENCH_RUN=$(openssl rand -hex 4) \
  wrk -t2 -c"$conns" -d"${dur}s" --latency -s "$lua" "http://127.0.0.1:$null_port/v1/agent/inventory" \
  >"$work/a0.txt" 2>&1; } 2>"$work/a0.wrk_cpu" || die "wrk: $(cat "$work/a0.txt")"
null_cpu=$(cpu_s "$null_pid")
stop_pid "$null_pid"
wrk_json "$work/a0.txt" >"$work/a0.json"
say "  $(jq -c '{accepted_per_s, latency_ms}' "$work/a0.json")"
say "a. /healthz of serve: wrk -t2 -c$conns -d${dur}s GET /healthz"
wrk -t2 -c"$conns" -d"${dur}s" --latency "$TALLY_URL/healthz" >"$work/a.txt" 2>&1 || die "wrk: $(cat "$work/a.txt")"
wrk_json "$work/a.txt" >"$work/a.json"
say "  $(jq -c '{requests_per_s, latency_ms}' "$work/a.json")"

say "b. accept rate: wrk -t2 -c$conns -d${dur}s POST /v1/agent/inventory ($batch_bytes-byte batch), no ingest"
cpu0=$(cpu_s "$serve_pid")
nats_cpu0=$(cpu_s "$nats_pid")
dup0=$(publishes duplicate)
{ time TALLY_BENCH_RUN=$(openssl rand -hex 4) \
  wrk -t2 -c"$conns" -d"${dur}s" --latency -s "$lua" "$TALLY_URL/v1/agent/inventory" \
  >"$work/b.txt" 2>&1; } 2>"$work/b.wrk_cpu" || die "wrk: $(cat "$work/b.txt")"
b_cpu=$(cpu_since "$cpu0" "$serve_pid")
b_nats_cpu=$(cpu_since "$nats_cpu0" "$nats_pid")
wrk_json "$work/b.txt" | jq -c --argjson d "$(($(publishes duplicate) - dup0))" '. + {duplicates: $d}' >"$work/b.json"
b_rss=$(hwm_mib "$serve_pid")
b_accepted_s=$(jq .accepted_per_s "$work/b.json")
say "  $(jq -c '{accepted_per_s, non_2xx, duplicates, latency_ms}' "$work/b.json"); serve CPU ${b_cpu} s, peak RSS ${b_rss} MiB"

# Half load: the same wrk and batch, each connection pausing between
# requests (TALLY_BENCH_DELAY_MS in bench/batch.lua). A connection sends one
# request per pause + latency, so a 3 s run at the plain pause measures the
# latency, and the pause of the measured run is shortened by it.
half=$(awk -v r="$b_accepted_s" 'BEGIN { h = int(r / 2); print (h < 10 ? 10 : h) }')
delay_ms=$(awk -v c="$conns" -v h="$half" 'BEGIN { printf "%.2f\n", c * 1000 / h }')
TALLY_BENCH_RUN=$(openssl rand -hex 4) TALLY_BENCH_DELAY_MS=$delay_ms \
  wrk -t2 -c"$conns" -d3s --latency -s "$lua" "$TALLY_URL/v1/agent/inventory" \
  >"$work/c0.txt" 2>&1 || die "wrk: $(cat "$work/c0.txt")"
delay_ms=$(awk -v d="$delay_ms" -v l="$(wrk_json "$work/c0.txt" | jq .latency_ms.mean)" \
  'BEGIN { d -= l; printf "%.2f\n", (d < 0 ? 0 : d) }')
say "c. half load: wrk -t2 -c$conns -d${dur}s, ${delay_ms} ms between requests per connection (~$half/s), no ingest"
dup0=$(publishes duplicate)
TALLY_BENCH_RUN=$(openssl rand -hex 4) TALLY_BENCH_DELAY_MS=$delay_ms \
  wrk -t2 -c"$conns" -d"${dur}s" --latency -s "$lua" "$TALLY_URL/v1/agent/inventory" \
  >"$work/c.txt" 2>&1 || die "wrk: $(cat "$work/c.txt")"
wrk_json "$work/c.txt" | jq -c --argjson d "$(($(publishes duplicate) - dup0))" '. + {duplicates: $d}' >"$work/c.json"
say "  $(jq -c '{accepted_per_s, non_2xx, duplicates, latency_ms}' "$work/c.json")"
c_rss=$(hwm_mib "$serve_pid")
stop_pid "$serve_pid"
serve_pid=""

# --- d: raw JetStream -------------------------------------------------------

say "d. raw JetStream: tally-jspub ${dur}s, the same $batch_bytes-byte payload, 4096 in flight"
"$jspub" --url "$TALLY_NATS_URL" --stream BENCH_JSPUB --subject bench.jspub --duration "$dur" \
  --payload "$TALLY_BATCH_FILE" --max-pending 4096 --json-out "$work/d.json" --quiet \
  >"$work/d.out" 2>&1 || die "tally-jspub: $(cat "$work/d.out")"
say "  $(jq -c '{acked_per_s, latency_ms}' "$work/d.json")"
say "d. raw JetStream: tally-jspub ${dur}s, $conns in flight (as many as wrk's connections)"
nats_cpu0=$(cpu_s "$nats_pid")
{ time "$jspub" --url "$TALLY_NATS_URL" --stream BENCH_JSPUB --subject bench.jspub --duration "$dur" \
  --payload "$TALLY_BATCH_FILE" --max-pending "$conns" --json-out "$work/d64.json" --quiet \
  >"$work/d64.out" 2>&1; } 2>"$work/d64.jspub_cpu" || die "tally-jspub: $(cat "$work/d64.out")"
d64_nats_cpu=$(cpu_since "$nats_cpu0" "$nats_pid")
say "  $(jq -c '{acked_per_s, latency_ms}' "$work/d64.json")"

# CPU microseconds per batch of every party in a, b and d. The raw parts
# alone (wrk and a do-nothing server in a, a JetStream client and nats-server
# in d) bound what the cores can accept per second before serve validates a byte.
n_a0=$(jq .requests "$work/a0.json")
n_b=$(jq .requests "$work/b.json")
n_d64=$(jq .acked "$work/d64.json")
jq -n --argjson cores "$(nproc)" \
  --argjson a_wrk "$(per_batch_us "$(timed_cpu "$work/a0.wrk_cpu")" "$n_a0")" \
  --argjson a_null "$(per_batch_us "$null_cpu" "$n_a0")" \
  --argjson b_wrk "$(per_batch_us "$(timed_cpu "$work/b.wrk_cpu")" "$n_b")" \
  --argjson b_serve "$(per_batch_us "$b_cpu" "$n_b")" \
  --argjson b_nats "$(per_batch_us "$b_nats_cpu" "$n_b")" \
  --argjson d_jspub "$(per_batch_us "$(timed_cpu "$work/d64.jspub_cpu")" "$n_d64")" \
  --argjson d_nats "$(per_batch_us "$d64_nats_cpu" "$n_d64")" \
  '{do_nothing_http: {wrk: $a_wrk, nullhttp: $a_null},
    serve_at_max: {wrk: $b_wrk, serve: $b_serve, nats_server: $b_nats},
    raw_jetstream_same_inflight: {jspub: $d_jspub, nats_server: $d_nats},
    raw_parts: (($a_wrk + $a_null + $d_jspub + $d_nats) * 10 | round / 10),
    raw_parts_ceiling_per_s: ($cores * 1e6 / ($a_wrk + $a_null + $d_jspub + $d_nats) | floor)}' \
  >"$work/cpu.json"
say "  CPU us per batch: $(jq -c . "$work/cpu.json")"

# --- e/f: serve + ingest, a fresh stream ------------------------------------

export TALLY_STREAM_NAME=BENCH_FLEET TALLY_SUBJECT_PREFIX=bench.fleet
start_serve
"$tally" ingest >>"$work/ingest.log" 2>&1 &
ingest_pid=$!
sleep 1
alive "$ingest_pid" || die "ingest exited; see $work/ingest.log"
ingest_cpu0=$(cpu_s "$ingest_pid")
serve_cpu0=$(cpu_s "$serve_pid")

say "e. fleet max: tally-fleet --mode max, 200 devices, $conns connections, ${dur}s, ingest running"
reports0=$(reports)
start_sampler "$work/e.rows"
run_fleet e --mode max --devices 200 --connections "$conns" --duration "$dur" --quiet
e_start=$fleet_start
e_end=$fleet_end
reports1=$(reports)
e_unique=$(jq '.accepted - .duplicates' "$work/e.json")
e_drain=$(wait_rows $((reports0 + e_unique)))
reports2=$(reports)
stop_pid "$sampler_pid"
sampler_pid=""
e_window=$(elapsed "$e_start" "$e_end")
e_batches_s=$(awk -v a="$reports0" -v b="$reports1" -v t="$e_window" 'BEGIN { printf "%.1f\n", (b - a) / t }')
e_batches_total_s=$(awk -v a="$reports0" -v b="$reports2" -v t="$e_window" -v d="$e_drain" \
  'BEGIN { if (d == "null") print "null"; else printf "%.1f\n", (b - a) / (t + d) }')
e_fresh=$(freshness "$e_start")
e_fresh_p50=${e_fresh% *}
e_fresh_p99=${e_fresh#* }
e_serve_cpu=$(cpu_since "$serve_cpu0" "$serve_pid")
e_ingest_cpu=$(cpu_since "$ingest_cpu0" "$ingest_pid")
e_serve_rss=$(hwm_mib "$serve_pid")
e_ingest_rss=$(hwm_mib "$ingest_pid")
say "  PostgreSQL: $((reports1 - reports0)) batches in the ${e_window}s window, all $e_unique after ${e_drain}s more"

say "f. storm: tally-fleet --mode storm, 1000 devices x 5 batches of backlog, $((2 * dur))s, ingest running"
reports0f=$(reports)
start_sampler "$work/f.rows"
run_fleet f --mode storm --devices 1000 --backlog 5 --connections "$conns" --duration $((2 * dur)) \
  --quiet
f_start=$fleet_start
f_unique=$(jq '.accepted - .duplicates' "$work/f.json")
f_extra=$(wait_rows $((reports0f + f_unique)))
stop_pid "$sampler_pid"
sampler_pid=""
f_stored=$(awk -v s="$f_start" -v e="$(now)" -v x="$f_extra" 'BEGIN { if (x == "null") print "null"; else printf "%.2f\n", e - s }')
# When PostgreSQL held as many new rows as the backlog (the sampler's
# resolution, about a second): the storm absorbed end to end.
f_backlog=$(jq .storm.backlog_batches "$work/f.json")
f_backlog_stored=$(awk -v s="$f_start" -v n=$((reports0f + f_backlog)) \
  '$2 >= n { printf "%.1f\n", $1 - s; found = 1; exit } END { if (!found) print "null" }' "$work/f.rows")

stop_pid "$ingest_pid"
ingest_pid=""
stop_pid "$serve_pid"
serve_pid=""

# --- g: ingest drain and raw COPY -------------------------------------------

TALLY_BENCH_KEYS=$work/keys TALLY_BENCH_STACK=$work/stack "$root/bench/drain.sh" "$work/g.json" ||
  die "bench/drain.sh failed"

# --- h: freshness at half load ---------------------------------------------

# Half load: half of what the whole system sustained end to end in phase e
# (batches accepted and stored, over run and drain, serve and ingest sharing
# the cores). The 2000 devices of g (now known to PostgreSQL) report steadily
# at that rate for twice the phase length. Each device's first report after
# a (simulated) restart is a full inventory, so freshness is taken over the
# second half, in the steady state.
h_rate=$(awk -v r="$e_batches_total_s" 'BEGIN { h = int(r / 2); print (h < 10 ? 10 : h) }')
h_interval=$(awk -v r="$h_rate" 'BEGIN { printf "%.2f\n", 2000 / r }')
say "h. freshness: tally-fleet --mode steady, 2000 devices every ${h_interval}s (~$h_rate batches/s), $((2 * dur))s, ingest running"
start_serve
"$tally" ingest >>"$work/ingest.log" 2>&1 &
ingest_pid=$!
reports0h=$(reports)
# --policy-every 0: the policy's next_checkin_s would replace the interval.
run_fleet h --mode steady --devices 2000 --interval "$h_interval" --connections "$conns" \
  --duration $((2 * dur)) --policy-every 0 --quiet
h_start=$fleet_start
h_drain=$(wait_rows $((reports0h + $(jq '.accepted - .duplicates' "$work/h.json"))))
h_fresh=$(freshness "$(awk -v s="$h_start" -v d="$dur" 'BEGIN { printf "%.3f\n", s + d }')")
h_fresh_p50=${h_fresh% *}
h_fresh_p99=${h_fresh#* }
say "  freshness p50 / p99: $h_fresh_p50 / $h_fresh_p99 ms; drained ${h_drain}s after the run"
stop_pid "$ingest_pid"
ingest_pid=""
stop_pid "$serve_pid"
serve_pid=""

# --- results ----------------------------------------------------------------

# The plans PostgreSQL logged for statements over 5 s, if any (a stalled
# phase shows here what the database was doing).
rm -f "$out_dir/slow-plans.log"
awk '/ LOG:  duration: / { p = 1 } /^[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9] / && !/ LOG:  duration: / { p = 0 } p' \
  "$work/stack/log/postgres.log" >"$work/slow-plans.log"
slow_plans=$(grep -c ' LOG:  duration: ' "$work/slow-plans.log" || true)
if [ "$slow_plans" -gt 0 ]; then
  cp "$work/slow-plans.log" "$out_dir/slow-plans.log"
  say "$slow_plans statements took over 5 s: their plans are in bench/results/slow-plans.log"
fi

# Per-second timelines for the plots: fleet (t, accepted/s, p50, p99) and
# PostgreSQL (t, rows/s), both in seconds since the fleet's start.
timeline() {
  local name=$1 start=$2
  # Ticks are about a second apart; the last one closes a short remainder.
  jq -r '.timeline[] | "\(.t_s) \(.accepted) \(.p50_ms) \(.p99_ms)"' "$work/$name.json" |
    awk '$1 - t >= 0.2 { printf "%.3f %.1f %s %s\n", $1, $2 / ($1 - t), $3, $4; t = $1 }' >"$work/$name.fleet.dat"
  awk -v s="$start" 'NR > 1 && $2 >= 0 && p >= 0 { printf "%.2f %.1f\n", ($1 + t) / 2 - s, ($2 - p) / ($1 - t) }
                     { t = $1; p = $2 }' "$work/$name.rows" >"$work/$name.rows.dat"
}
timeline e "$e_start"
timeline f "$f_start"

# plot NAME PNG TITLE MARKS LAST: throughput (accepted, rows landed) and
# latency over time, on one time axis; MARKS are gnuplot commands (event
# lines), LAST the latest of their times (or null).
plot() {
  local name=$1 png=$2 title=$3 marks=$4 xmax
  xmax=$(awk -v x="$5" '{ if ($1 > m) m = $1 } END { if (x != "null" && x + 0 > m) m = x; printf "%.0f\n", m + 1.5 }' \
    "$work/$name.fleet.dat" "$work/$name.rows.dat")
  gnuplot <<PLOT 2>"$work/gnuplot.err" || say "gnuplot failed: $(cat "$work/gnuplot.err")"
set terminal pngcairo size 1000,700 font ",10"
set output "$png"
set multiplot layout 2,1 title "$title\n$(date -u +%Y-%m-%d), $(nproc) cores, $(. /etc/os-release && echo "$PRETTY_NAME")"
set grid
set key top right
set xrange [0:$xmax]
set yrange [0:*]
set ylabel "per second"
$marks
plot "$work/$name.fleet.dat" using 1:2 with linespoints lw 2 pt 7 ps 0.5 title "accepted batches/s (HTTP 202)", \
     "$work/$name.rows.dat" using 1:2 with linespoints lw 2 pt 7 ps 0.5 title "batches/s stored in PostgreSQL"
set ylabel "ms (log)"
set xlabel "seconds since the fleet started"
set logscale y
set yrange [*:*]
plot "$work/$name.fleet.dat" using 1:3 with linespoints lw 2 pt 7 ps 0.5 title "HTTP latency p50 (per second)", \
     "" using 1:4 with linespoints lw 2 pt 7 ps 0.5 title "HTTP latency p99 (per second)"
unset multiplot
PLOT
}

# A vertical line with a label at X seconds (nothing for null).
mark() {
  [ "$1" = null ] && return 0
  printf 'set arrow from %s, graph 0 to %s, graph 1 nohead dt 2 lc rgb "gray40"\n' "$1" "$1"
  printf 'set label "%s" at %s, graph 0.04 left rotate by 90 offset 1.2,0 tc rgb "gray30"\n' "$2" "$1"
}

plots="none: gnuplot is not installed"
if command -v gnuplot >/dev/null; then
  e_all=$(awk -v w="$e_window" -v d="$e_drain" 'BEGIN { if (d == "null") print "null"; else printf "%.2f\n", w + d }')
  plot e "$out_dir/fleet-max.png" \
    "tally-fleet --mode max, 200 devices, $conns connections, ${dur}s (serve + ingest)" \
    "$(mark "$e_window" "fleet stops")
$(mark "$e_all" "all batches stored")" "$e_all"
  plot f "$out_dir/fleet-storm.png" \
    "tally-fleet --mode storm, 1000 devices x 5 backlog batches, $conns connections (serve + ingest)" \
    "$(mark "$(jq .storm.drained_s "$work/f.json")" "backlog accepted")
$(mark "$f_backlog_stored" "backlog's worth of batches stored")" "$f_backlog_stored"
  plots="bench/results/fleet-max.png, bench/results/fleet-storm.png"
fi

suite_s=$(($(date +%s) - suite_start))
load_after=$(cut -d' ' -f1-3 /proc/loadavg)
jq -n \
  --arg date "$(date -u +%Y-%m-%dT%H:%M:%SZ)" \
  --arg cpu "$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)" \
  --arg os "$(. /etc/os-release && echo "$PRETTY_NAME")" \
  --argjson cores "$(nproc)" \
  --argjson mem_gib "$(awk '/^MemTotal:/ { printf "%.0f", $2 / 1048576 }' /proc/meminfo)" \
  --argjson duration "$dur" --argjson connections "$conns" \
  --arg load_before "$load_before" --arg load_after "$load_after" \
  --argjson batch_bytes "$batch_bytes" --argjson batch_gzip_bytes "$best_gz" \
  --argjson a "$(cat "$work/a.json")" --argjson a0 "$(cat "$work/a0.json")" --argjson b "$(cat "$work/b.json")" \
  --argjson b_cpu "$b_cpu" --argjson b_rss "$b_rss" --argjson c_rss "$c_rss" \
  --argjson c "$(cat "$work/c.json")" --argjson half "$half" --argjson delay_ms "$delay_ms" \
  --argjson d "$(cat "$work/d.json")" --argjson d64 "$(cat "$work/d64.json")" \
  --argjson cpu_us "$(cat "$work/cpu.json")" \
  --argjson e "$(cat "$work/e.json")" --argjson f "$(cat "$work/f.json")" \
  --argjson e_window "$e_window" --argjson e_batches "$((reports1 - reports0))" --argjson e_batches_s "$e_batches_s" \
  --argjson e_batches_total "$((reports2 - reports0))" --argjson e_drain "$e_drain" \
  --argjson e_batches_total_s "$e_batches_total_s" \
  --argjson e_fresh_p50 "$e_fresh_p50" --argjson e_fresh_p99 "$e_fresh_p99" \
  --argjson e_serve_cpu "$e_serve_cpu" --argjson e_ingest_cpu "$e_ingest_cpu" \
  --argjson e_serve_rss "$e_serve_rss" --argjson e_ingest_rss "$e_ingest_rss" \
  --argjson g "$(cat "$work/g.json")" --argjson h "$(cat "$work/h.json")" \
  --argjson h_rate "$h_rate" --argjson h_drain "$h_drain" \
  --argjson h_fresh_p50 "$h_fresh_p50" --argjson h_fresh_p99 "$h_fresh_p99" \
  --argjson f_stored "$f_stored" --argjson f_backlog_stored "$f_backlog_stored" --argjson suite_s "$suite_s" --arg plots "$plots" \
  '{date: $date, machine: {cpu: $cpu, cores: $cores, memory_gib: $mem_gib, os: $os,
      loadavg_before: $load_before, loadavg_after: $load_after},
    suite_seconds: $suite_s, phase_seconds: $duration, connections: $connections,
    batch: {json_bytes: $batch_bytes, gzip_bytes: $batch_gzip_bytes},
    raw_http_null: $a0, raw_http_healthz: $a,
    accept_serve_only: ($b + {serve_cpu_s: $b_cpu, serve_peak_rss_mib: $b_rss}),
    half_load: ($c + {target_per_s: $half, delay_ms: $delay_ms, serve_peak_rss_mib: $c_rss}),
    raw_jetstream: $d, raw_jetstream_same_inflight: $d64, cpu_us_per_batch: $cpu_us,
    fleet_max: ($e | del(.timeline) + {pg: {window_s: $e_window, batches_in_window: $e_batches,
      batches_per_s_in_window: $e_batches_s, batches_total: $e_batches_total, drain_after_s: $e_drain,
      batches_per_s_incl_drain: $e_batches_total_s,
      freshness_ms: {p50: $e_fresh_p50, p99: $e_fresh_p99}},
      serve: {cpu_s: $e_serve_cpu, peak_rss_mib: $e_serve_rss},
      ingest: {cpu_s: $e_ingest_cpu, peak_rss_mib: $e_ingest_rss}}),
    storm: ($f | del(.timeline) + {backlog_batches_in_pg_after_s: $f_backlog_stored,
      all_accepted_in_pg_after_s: $f_stored}),
    ingest_drain: $g,
    freshness_half_load: ($h | del(.timeline) + {target_per_s: $h_rate, drain_after_s: $h_drain,
      freshness_ms: {p50: $h_fresh_p50, p99: $h_fresh_p99}}),
    plots: $plots,
    timelines: {fleet_max: $e.timeline, storm: $f.timeline}}' >"$out_dir/latest.json"

# --- the table --------------------------------------------------------------

j() { jq -r "$1" "$out_dir/latest.json"; }
a_rps=$(j .raw_http_healthz.accepted_per_s)
a0_rps=$(j .raw_http_null.accepted_per_s)
b_rps=$(j .accept_serve_only.accepted_per_s)
d_rps=$(j .raw_jetstream.acked_per_s)
d64_rps=$(j .raw_jetstream_same_inflight.acked_per_s)
e_rps=$(j .fleet_max.accepted_per_s)
c_rps=$(j .half_load.accepted_per_s)
row() { printf '| %-52s | %-26s | %-36s | %-7s |\n' "$@"; }

echo
echo "Tally benchmark suite — $(j .date), $(nproc) cores ($(j .machine.cpu)), $(j .machine.os)"
echo "batch: $batch_bytes bytes JSON / $best_gz bytes gzipped; wrk -t2 -c$conns; ${dur}s per phase; suite took ${suite_s}s"
echo "load average before: $load_before; after: $load_after (the suite's own load included)"
echo
row "figure" "Tally" "raw limit (same run)" "ratio"
row "$(printf -- '-%.0s' {1..52})" "$(printf -- '-%.0s' {1..26})" "$(printf -- '-%.0s' {1..36})" "-------"
row "accepted batches/s, serve only (wrk, JSON)" "$(thousands "$b_rps")" "$(thousands "$a0_rps") (do-nothing HTTP: nullhttp)" "$(percent "$b_rps" "$a0_rps")"
row "  same, vs serve's own GET /healthz" "$(thousands "$b_rps")" "$(thousands "$a_rps") (/healthz, no body)" "$(percent "$b_rps" "$a_rps")"
row "  same, vs raw JetStream publishes/s" "$(thousands "$b_rps")" "$(thousands "$d64_rps") ($conns in flight)" "$(percent "$b_rps" "$d64_rps")"
row "  same, vs raw JetStream publishes/s" "$(thousands "$b_rps")" "$(thousands "$d_rps") (4096 in flight)" "$(percent "$b_rps" "$d_rps")"
row "latency p50 at max (wrk)" "$(ms "$(j .accept_serve_only.latency_ms.p50)")" "$(ms "$(j .raw_http_null.latency_ms.p50)") (nullhttp)" "$(times_of "$(j .accept_serve_only.latency_ms.p50)" "$(j .raw_http_null.latency_ms.p50)")"
row "latency p99 at max (wrk)" "$(ms "$(j .accept_serve_only.latency_ms.p99)")" "$(ms "$(j .raw_http_null.latency_ms.p99)") (nullhttp)" "$(times_of "$(j .accept_serve_only.latency_ms.p99)" "$(j .raw_http_null.latency_ms.p99)")"
row "non-2xx / duplicate answers at max (wrk)" "$(j .accept_serve_only.non_2xx) / $(j .accept_serve_only.duplicates) of $(thousands "$(j .accept_serve_only.requests)")" "$(j .raw_http_null.non_2xx) non-2xx of $(thousands "$(j .raw_http_null.requests)")" "-"
row "serve CPU s / peak RSS at max (${dur}s, 2 cores)" "$b_cpu s / $b_rss MiB" "-" "-"
row "CPU us per batch at max: wrk / serve / nats-server" "$(j .cpu_us_per_batch.serve_at_max.wrk) / $(j .cpu_us_per_batch.serve_at_max.serve) / $(j .cpu_us_per_batch.serve_at_max.nats_server)" "$(j .cpu_us_per_batch.do_nothing_http.wrk) / $(j .cpu_us_per_batch.do_nothing_http.nullhttp) (wrk / nullhttp)" "-"
row "  CPU us per publish, raw JetStream ($conns in flight)" "-" "$(j .cpu_us_per_batch.raw_jetstream_same_inflight.jspub) / $(j .cpu_us_per_batch.raw_jetstream_same_inflight.nats_server) (jspub / nats-server)" "-"
row "  batches/s the cores allow the raw parts alone" "$(thousands "$b_rps")" "$(thousands "$(j .cpu_us_per_batch.raw_parts_ceiling_per_s)") ($(nproc) cores / $(j .cpu_us_per_batch.raw_parts) us)" "$(percent "$b_rps" "$(j .cpu_us_per_batch.raw_parts_ceiling_per_s)")"
row "half load (wrk paced): accepted batches/s" "$(thousands "$c_rps")" "-" "$(percent "$c_rps" "$b_rps") of max"
row "  latency p50 / p99 at half load" "$(ms "$(j .half_load.latency_ms.p50)") / $(ms "$(j .half_load.latency_ms.p99)")" "$(ms "$(j .raw_http_null.latency_ms.p50)") / $(ms "$(j .raw_http_null.latency_ms.p99)") (nullhttp, max)" "-"
row "JetStream publishes/s (same payload, PubAck)" "-" "$(thousands "$d_rps") / $(thousands "$d64_rps") ($conns in flight)" "-"
row "  JetStream PubAck p50 / p99, 4096 in flight" "-" "$(ms "$(j .raw_jetstream.latency_ms.p50)") / $(ms "$(j .raw_jetstream.latency_ms.p99)")" "-"
row "  JetStream PubAck p50 / p99, $conns in flight" "-" "$(ms "$(j .raw_jetstream_same_inflight.latency_ms.p50)") / $(ms "$(j .raw_jetstream_same_inflight.latency_ms.p99)")" "-"
row "fleet max, serve + ingest: accepted batches/s" "$(thousands "$e_rps")" "$(thousands "$d64_rps") (JetStream, $conns in flight)" "$(percent "$e_rps" "$d64_rps")"
row "  latency p50 / p99" "$(ms "$(j .fleet_max.latency_ms.p50)") / $(ms "$(j .fleet_max.latency_ms.p99)")" "-" "-"
row "  batches/s stored in PostgreSQL (in the window)" "$(thousands "$e_batches_s")" "-" "$(percent "$e_batches_s" "$e_rps") of accepted"
row "  ingest drain after the run / batches/s overall" "${e_drain} s / $(thousands "$e_batches_total_s")" "-" "-"
row "  freshness p50 / p99 at max (receive -> ingest tx)" "$(ms "$e_fresh_p50") / $(ms "$e_fresh_p99")" "-" "-"
row "  CPU s serve / ingest (${e_window}s + drain)" "$e_serve_cpu / $e_ingest_cpu" "-" "-"
row "  peak RSS MiB serve / ingest" "$e_serve_rss / $e_ingest_rss" "-" "-"
row "storm: backlog batches" "$(thousands "$(j .storm.storm.backlog_batches)")" "-" "-"
row "  backlog accepted (HTTP 202) after" "$(j '.storm.storm.drained_s // "not drained"') s" "-" "-"
row "  as many batches as the backlog stored after" "$f_backlog_stored s" "-" "-"
row "  every accepted batch in PostgreSQL after" "$f_stored s (run: $((2 * dur)) s)" "-" "-"
row "  latency p50 / p99 during the storm" "$(ms "$(j .storm.latency_ms.p50)") / $(ms "$(j .storm.latency_ms.p99)")" "-" "-"
row "ingest drain: backlog batches (serve filled it at)" "$(thousands "$(j .ingest_drain.backlog_batches)") ($(thousands "$(j .ingest_drain.fill.accepted_per_s)")/s)" "-" "-"
row "  drained in / batches/s" "$(j .ingest_drain.ingest.seconds) s / $(thousands "$(j .ingest_drain.ingest.batches_per_s)")" "-" "-"
[ "$(j .ingest_drain.warmup)" = null ] ||
  row "  warm-up drain before it (not compared)" "$(j .ingest_drain.warmup.seconds) s" "-" "-"
# The ratios are the median of the rounds' (each a drain over the raw COPY
# right after it), not the quotient of the two medians printed beside them.
row "  rows/s into PostgreSQL (all tables)" "$(thousands "$(j .ingest_drain.ingest.rows_per_s)")" "$(thousands "$(j .ingest_drain.raw_copy.rows_per_s)") (raw binary COPY, same rows, 1 conn)" "$(percent "$(j .ingest_drain.ratio)" 1)"
row "  each round's ratio to its raw binary COPY" "$(j '[.ingest_drain.rounds[].ratio | tostring] | join(", ")')" "-" "-"
row "  the same, against a raw text COPY" "-" "$(thousands "$(j .ingest_drain.raw_copy_text.rows_per_s)") (raw text COPY, same rows, 1 conn)" "$(percent "$(j .ingest_drain.ratio_text)" 1)"
row "  CPU s: ingest / PostgreSQL / nats-server / idle" "$(j .ingest_drain.ingest.cpu_s) / $(j .ingest_drain.ingest.postgres_cpu_s) / $(j .ingest_drain.ingest.nats_cpu_s) / $(j .ingest_drain.ingest.idle_s)" "$(j .ingest_drain.raw_copy.postgres_cpu_s) (PostgreSQL, raw binary COPY)" "-"
row "  ingest peak RSS MiB" "$(j .ingest_drain.ingest.peak_rss_mib)" "-" "-"
row "freshness at half load (of e's end to end): batches/s" "$(thousands "$(j .freshness_half_load.accepted_per_s)")" "-" "-"
row "  freshness p50 / p99, second half (steady)" "$(ms "$h_fresh_p50") / $(ms "$h_fresh_p99")" "-" "-"
echo
echo "figures: bench/results/latest.json; plots: $plots"
[ "$slow_plans" -eq 0 ] || echo "statements over 5 s: $slow_plans (plans: bench/results/slow-plans.log)"
echo "The machine is shared and the load generators run on the same 2 cores: figures are noisy."
