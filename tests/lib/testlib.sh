# Sourced by every integration test. Gives the test its own database (fresh,
# migrated), stream and subject prefix on the shared fixture stack, starts
# tally processes as children of the test, and stops them on exit whatever
# happened. Requires TALLY_BIN, TALLY_STACK_DIR and TALLY_TEST_NAME (set by
# tests/CMakeLists.txt).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
. "$root/deploy/local/lib.sh"
set -a
. "$TALLY_STACK_DIR/stack.env"
set +a

t_name=${TALLY_TEST_NAME//[^a-zA-Z0-9]/_}
t_dir=$(mktemp -d "/tmp/tally-test-$t_name.XXXXXX")
t_pids=()
t_db="t_$t_name"

# stop_tallies: SIGTERM to the test's tally processes, then waits for them.
# Each must exit 0: a sanitizer report (leak, UB, overflow) or an unclean
# shutdown fails the test.
stop_tallies() {
  local pid prc rc=0
  for pid in "${t_pids[@]}"; do
    kill -TERM "$pid" 2>/dev/null || true
  done
  for pid in "${t_pids[@]}"; do
    prc=0
    wait "$pid" 2>/dev/null || prc=$?
    if [ "$prc" -ne 0 ]; then
      echo "FAIL: tally process $pid exited $prc after SIGTERM" >&2
      rc=1
    fi
  done
  t_pids=()
  return $rc
}

# stop_tally PID...: stops those tally processes of the test (SIGTERM),
# fails unless each exits 0 within 30 s (one still running then is killed),
# and forgets them.
stop_tally() {
  local pid keep=() p i rc
  kill -TERM "$@"
  for pid in "$@"; do
    for ((i = 0; i < 300; i++)); do
      alive "$pid" || break
      sleep 0.1
    done
    if alive "$pid"; then
      kill -KILL "$pid"
      fail "tally process $pid ignored SIGTERM for 30 s"
    fi
    rc=0
    wait "$pid" || rc=$?
    [ "$rc" = 0 ] || fail "tally process $pid exited $rc after SIGTERM"
  done
  for p in "${t_pids[@]}"; do
    [[ " $* " == *" $p "* ]] || keep+=("$p")
  done
  t_pids=("${keep[@]}")
}

t_cleanup() {
  local rc=$?
  stop_tallies || rc=1
  t_cleanup_nats # after the tally processes, which drain into it
  [ -z "$t_pg_pid" ] || stop_private_pg
  if grep -l 'Sanitizer\|runtime error' "$t_dir"/*.log 2>/dev/null; then
    echo "FAIL: sanitizer report in the logs above" >&2
    rc=1
  fi
  if [ $rc -ne 0 ]; then
    echo "--- test failed (exit $rc); process logs:" >&2
    tail -n 40 "$t_dir"/*.log >&2 2>/dev/null || true
  fi
  rm -rf "$t_dir"
  exit $rc
}
trap t_cleanup EXIT

fail() {
  echo "FAIL: $*" >&2
  exit 1
}

pass() {
  echo "ok - $*"
}

# A fresh database for this test, owned by the schema owner.
psql "$TALLY_PG_SUPER_URL/postgres" -q -v ON_ERROR_STOP=1 \
  -c "DROP DATABASE IF EXISTS $t_db WITH (FORCE)" -c "CREATE DATABASE $t_db OWNER tally_owner" \
  -c "\\connect $t_db" -c "ALTER SCHEMA public OWNER TO tally_owner" >/dev/null
export TALLY_DATABASE_URL=${TALLY_DATABASE_URL%/*}/$t_db
export TALLY_INGEST_DATABASE_URL=${TALLY_INGEST_DATABASE_URL%/*}/$t_db
export TALLY_OWNER_DATABASE_URL=${TALLY_OWNER_DATABASE_URL%/*}/$t_db
export TALLY_STREAM_NAME="T_${t_name^^}"
export TALLY_SUBJECT_PREFIX="test.$t_name"
export TALLY_HTTP_ADDR=127.0.0.1
# t_port NAME: sets NAME to a free port that no earlier t_port of this test
# handed out (free_port alone may hand out again a port whose listener has
# not started yet: ingest's metrics port once went to the test's own
# nats-server).
t_ports=()
t_port() {
  local p
  while :; do
    p=$(free_port)
    [[ " ${t_ports[*]} " == *" $p "* ]] || break
  done
  t_ports+=("$p")
  printf -v "$1" '%s' "$p"
}
t_port TALLY_HTTP_PORT
export TALLY_HTTP_PORT
export TALLY_URL="http://127.0.0.1:$TALLY_HTTP_PORT"
export TALLY_INGEST_METRICS_ADDR=127.0.0.1
t_port TALLY_INGEST_METRICS_PORT
export TALLY_INGEST_METRICS_PORT
export TALLY_LOG_LEVEL=${TALLY_LOG_LEVEL:-info}
# Sanitizer reports must fail the test that caused them.
export ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=1:detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

"$TALLY_BIN" migrate 2>"$t_dir/migrate.log" || { cat "$t_dir/migrate.log" >&2; fail "migrate"; }

# sql "SELECT ...": runs as the schema owner, prints unaligned rows.
sql() {
  psql "$TALLY_OWNER_DATABASE_URL" -qAt -v ON_ERROR_STOP=1 -c "$1"
}

# start_tally serve|ingest: runs it in the background, logs in $t_dir.
start_tally() {
  "$TALLY_BIN" "$1" >>"$t_dir/$1.log" 2>&1 &
  t_pids+=("$!")
  if [ "$1" = serve ]; then
    wait_port "$TALLY_HTTP_PORT" 30 || fail "serve did not listen"
  fi
}

# new_tenant NAME: prints the tenant id.
new_tenant() {
  "$TALLY_BIN" admin create-tenant --name "$1" | sed -E 's/.*"tenant_id":"([^"]+)".*/\1/'
}

# new_agent_key TENANT: prints a fresh agent API key.
new_agent_key() {
  "$TALLY_BIN" admin create-api-key --tenant "$1" | sed -E 's/.*"key":"([^"]+)".*/\1/'
}

# wait_for "SQL returning one value" EXPECTED SECONDS
wait_for() {
  local i got=""
  for ((i = 0; i < $3 * 10; i++)); do
    got=$(sql "$1")
    [ "$got" = "$2" ] && return 0
    sleep 0.1
  done
  fail "waited $3 s for [$1] = $2, last saw '$got'"
}

# post_batch KEY FILE [curl args...]: prints "STATUS BODY".
post_batch() {
  local key=$1 file=$2
  shift 2
  curl -sS -o "$t_dir/resp" -w '%{http_code}' -X POST "$TALLY_URL/v1/agent/inventory" \
    -H "Authorization: Bearer $key" -H 'Content-Type: application/json' \
    --data-binary "@$file" "$@" > "$t_dir/status"
  echo "$(cat "$t_dir/status") $(cat "$t_dir/resp")"
}

# start_private_nats: a nats-server of this test's own (so the test may stop
# it), on a free port with its store in $t_dir; exports TALLY_NATS_URL.
# stop_private_nats / start_private_nats again reuse the port and store.
t_nats_port=""
t_nats_monitor=""
t_nats_pid=""
start_private_nats() {
  [ -n "$t_nats_port" ] || t_port t_nats_port
  [ -n "$t_nats_monitor" ] || t_port t_nats_monitor
  local attempt
  # A restart may find the port still held for a moment; try a few times.
  for attempt in 1 2 3 4 5; do
    nats-server -js -sd "$t_dir/nats" -a 127.0.0.1 -p "$t_nats_port" -m "$t_nats_monitor" \
      >>"$t_dir/nats.log" 2>&1 &
    t_nats_pid=$!
    wait_port "$t_nats_port" 30 && alive "$t_nats_pid" && break
    kill -TERM "$t_nats_pid" 2>/dev/null || true
    wait "$t_nats_pid" 2>/dev/null || true
    t_nats_pid=""
    sleep 1
  done
  [ -n "$t_nats_pid" ] || fail "private nats-server did not start: $(tail -n 5 "$t_dir/nats.log")"
  export TALLY_NATS_URL="nats://127.0.0.1:$t_nats_port"
}
stop_private_nats() {
  kill -TERM "$t_nats_pid"
  wait "$t_nats_pid" || true
  t_nats_pid=""
}
t_cleanup_nats() { [ -z "$t_nats_pid" ] || stop_private_nats; }

# stream_messages: messages in this test's stream (private NATS only).
stream_messages() {
  curl -sS "http://127.0.0.1:$t_nats_monitor/jsz?streams=true" |
    jq -r --arg s "$TALLY_STREAM_NAME" '[.account_details[]?.stream_detail[]? | select(.name == $s) | .state.messages] | add // 0'
}

# start_private_pg: a PostgreSQL of this test's own (so the test may restart
# it), bootstrapped and migrated like the shared one; repoints
# TALLY_DATABASE_URL / TALLY_INGEST_DATABASE_URL / TALLY_OWNER_DATABASE_URL at it. stop_private_pg and
# start_private_pg again restart it on the same port and data.
t_pg_port=""
t_pg_pid=""
start_private_pg() {
  local pgbin fresh=0
  pgbin=$(pg_bin)
  if [ -z "$t_pg_port" ]; then
    fresh=1
    t_port t_pg_port
    mkdir -p "$t_dir/pg"
    [ "$(id -u)" -eq 0 ] && chown postgres:postgres "$t_dir/pg" && chmod 755 "$t_dir"
    echo secret >"$t_dir/pg.pw" && chmod 644 "$t_dir/pg.pw"
    "${as_pg[@]}" "$pgbin/initdb" -D "$t_dir/pg/data" -U postgres --pwfile="$t_dir/pg.pw" \
      --auth=scram-sha-256 >"$t_dir/initdb.log" 2>&1 || fail "initdb"
  fi
  "${as_pg[@]}" "$pgbin/postgres" -D "$t_dir/pg/data" -p "$t_pg_port" -k "$t_dir/pg" \
    -c listen_addresses=127.0.0.1 >>"$t_dir/postgres.log" 2>&1 &
  t_pg_pid=$!
  for ((i = 0; i < 100; i++)); do
    "$pgbin/pg_isready" -q -h 127.0.0.1 -p "$t_pg_port" && break
    sleep 0.1
  done
  local base="127.0.0.1:$t_pg_port"
  if [ "$fresh" = 1 ]; then
    psql "postgresql://postgres:secret@$base/postgres" -q -v ON_ERROR_STOP=1 -v owner_pw=secret \
      -v app_pw=secret -v ingest_pw=secret -f "$root/deploy/local/pg-bootstrap.sql" >/dev/null ||
      fail "bootstrap"
    export TALLY_DATABASE_URL="postgresql://tally_app:secret@$base/tally"
    export TALLY_INGEST_DATABASE_URL="postgresql://tally_ingest:secret@$base/tally"
    export TALLY_OWNER_DATABASE_URL="postgresql://tally_owner:secret@$base/tally"
    "$TALLY_BIN" migrate 2>>"$t_dir/migrate.log" || fail "migrate (private pg)"
  fi
}
stop_private_pg() {
  kill -INT "$t_pg_pid"
  wait "$t_pg_pid" || true
  t_pg_pid=""
}

# load_setup: what every load test needs before `start_tally serve`: rate
# limits out of the way (they are tested on their own). Then load_tenant NAME
# makes the tenant, its key and a delta batch for bench/batch.lua (exported:
# TALLY_AGENT_KEY, TALLY_BATCH_FILE, TALLY_DEVICES=1000).
load_setup() {
  export TALLY_RATE_KEY_PER_S=1000000 TALLY_RATE_KEY_BURST=1000000
  export TALLY_RATE_TENANT_PER_S=1000000 TALLY_RATE_TENANT_BURST=1000000
}
load_tenant() {
  TALLY_AGENT_KEY=$(new_agent_key "$(new_tenant "$1")")
  export TALLY_AGENT_KEY TALLY_BATCH_FILE="$t_dir/delta.json" TALLY_DEVICES=1000
  make_delta_batch "$TALLY_BATCH_FILE"
}

# make_delta_batch FILE: a realistic periodic report (device facts, a few
# events and a metric sample, timestamped now, no software or patch lists)
# for load generators (bench/batch.lua).
make_delta_batch() {
  local now
  now=$(date -u +%Y-%m-%dT%H:%M:%SZ)
  jq --arg now "$now" 'del(.software, .patches) |
    .process_events = [
      {"ts": $now, "op": "start", "pid": 9120, "ppid": 1044, "name": "msedge.exe",
       "path": "C:\\Program Files (x86)\\Microsoft\\Edge\\Application\\msedge.exe",
       "cmdline": "\"C:\\Program Files (x86)\\Microsoft\\Edge\\Application\\msedge.exe\" --type=renderer",
       "user": "CONTOSO\\jose.muller"},
      {"ts": $now, "op": "stop", "pid": 7788, "name": "Teams.exe"}] |
    .network_events = [
      {"ts": $now, "protocol": "tcp", "local_ip": "10.20.31.44", "local_port": 52114,
       "remote_ip": "52.113.194.132", "remote_port": 443, "state": "established", "pid": 9120,
       "process_name": "msedge.exe"}] |
    .metrics = [{"ts": $now, "cpu_pct": 17.5, "mem_used_bytes": 11811160064, "disk_used_pct": 61.2,
                 "net_rx_bytes": 1048576, "net_tx_bytes": 262144}]' \
    "$root/docs/examples/inventory-batch.json" >"$1"
}

# ingest_metric SERIES: the value of that exact series (its name and labels
# as ingest prints them) on the ingest of $TALLY_INGEST_METRICS_PORT; empty
# when it has none.
ingest_metric() {
  curl -sS "http://127.0.0.1:$TALLY_INGEST_METRICS_PORT/metrics" | awk -v k="$1" '$1 == k { print $2 }'
}

# ingest_fetches N: ingest's count of settled fetches once it reaches N, or
# what it is after 10 s. Ingest counts a fetch after acking it, just after
# the commit that made its rows visible: a test that saw the rows waits for
# the count, then checks it is exactly N.
ingest_fetches() {
  local i n=0
  for ((i = 0; i < 100; i++)); do
    n=$(ingest_metric tally_ingest_fetch_duration_seconds_count)
    n=${n:-0}
    [ "$n" -lt "$1" ] || break
    sleep 0.1
  done
  echo "$n"
}

# check_delta_rows N: the test's database holds exactly what N distinct
# batches of $TALLY_BATCH_FILE (make_delta_batch) write, table by table: a
# report (no two of one batch) and a ledger row each, each one's events and metrics, a device per
# agent the reports name, nothing outside the partitions' window, no dead
# letter, no software or patch rows.
check_delta_rows() {
  local n=$1 section table want got
  for section in process_events network_events file_events metrics; do
    table=$section
    [ "$section" != metrics ] || table=device_metrics
    want=$((n * $(jq ".$section // [] | length" "$TALLY_BATCH_FILE")))
    got=$(sql "SELECT count(*) FROM $table")
    [ "$got" = "$want" ] || fail "$table: $got rows for $n batches, expected $want"
  done
  got=$(sql "SELECT count(*) || ' ' || count(DISTINCT batch_id) FROM inventory_reports")
  [ "$got" = "$n $n" ] || fail "inventory_reports: $got rows (all, distinct batches) for $n batches"
  got=$(sql "SELECT count(*) FROM ingested_batches")
  [ "$got" = "$n" ] || fail "ingested_batches: $got rows for $n batches"
  want=$(sql "SELECT count(DISTINCT device_id) FROM inventory_reports")
  got=$(sql "SELECT count(*) FROM devices")
  [ "$got" = "$want" ] || fail "devices: $got rows for $want devices reporting"
  for table in out_of_window_events dead_letters device_software software_changes device_patches; do
    got=$(sql "SELECT count(*) FROM $table")
    [ "$got" = 0 ] || fail "$table: $got rows, expected none"
  done
}
