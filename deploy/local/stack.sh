#!/usr/bin/env bash
# Usage: stack.sh DIR [--tally BIN]
#
# Runs a private PostgreSQL and nats-server (JetStream) with their data under
# DIR, as direct children of this script, and writes DIR/stack.env once both
# are ready. With --tally it also migrates, creates the demo tenant, user and
# agent key once (DIR/demo.env), and runs `tally serve` and `tally ingest`.
# It stays in the foreground; SIGINT/SIGTERM stops every child and waits for
# it, then touches DIR/stopped. If a child dies on its own, the rest stop and
# the script exits 1.
#
# Ports: TALLY_PG_PORT (15432), TALLY_NATS_PORT (14222), TALLY_HTTP_PORT
# (18080), TALLY_INGEST_METRICS_PORT (18081); 0 picks a free port. Data persists across runs; delete DIR to reset.
# TALLY_PG_OPTIONS: more PostgreSQL settings ("-c name=value ..."; make bench logs slow plans).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"

[ $# -ge 1 ] || { echo "usage: $0 DIR [--tally BIN]" >&2; exit 2; }
mkdir -p "$1"
dir=$(cd "$1" && pwd)
bin=""
[ "${2:-}" = "--tally" ] && bin=$(cd "$(dirname "$3")" && pwd)/$(basename "$3")
rm -f "$dir/stack.env" "$dir/stopped"
mkdir -p "$dir/log"

port_or_free() { if [ "$1" = 0 ]; then free_port; else echo "$1"; fi; }
pg_port=$(port_or_free "${TALLY_PG_PORT:-15432}")
nats_port=$(port_or_free "${TALLY_NATS_PORT:-14222}")
http_port=$(port_or_free "${TALLY_HTTP_PORT:-18080}")
ingest_metrics_port=$(port_or_free "${TALLY_INGEST_METRICS_PORT:-18081}")

say() { echo "stack: $*" >&2; }

# Secrets are made once and kept with the data they protect.
if [ ! -f "$dir/secrets.env" ]; then
  umask 077
  {
    echo "PG_SUPER_PW=$(openssl rand -hex 16)"
    echo "PG_OWNER_PW=$(openssl rand -hex 16)"
    echo "PG_APP_PW=$(openssl rand -hex 16)"
    echo "API_KEY_PEPPER=$(openssl rand -hex 32)"
  } > "$dir/secrets.env"
  umask 022
fi
# A secret added since DIR was made is added to it.
grep -q '^PG_INGEST_PW=' "$dir/secrets.env" || echo "PG_INGEST_PW=$(openssl rand -hex 16)" >> "$dir/secrets.env"
. "$dir/secrets.env"

# --- PostgreSQL -------------------------------------------------------------
pgbin=$(pg_bin)
pgdata="$dir/pg/data"
pgrun="$dir/pg/run"
if [ "$(id -u)" -eq 0 ] && ! "${as_pg[@]}" test -x "$dir"; then
  # The postgres user cannot reach DIR (e.g. under /root): keep the cluster
  # where it can, linked from DIR so it still persists and resets with it.
  real="/var/lib/tally/$(echo "$dir" | sha256sum | cut -c1-16)"
  mkdir -p "$real"
  [ -L "$dir/pg" ] || { rm -rf "$dir/pg"; ln -s "$real" "$dir/pg"; }
fi
mkdir -p "$dir/pg"
[ "$(id -u)" -eq 0 ] && chown postgres:postgres "$(readlink -f "$dir/pg")"
super=$( [ "$(id -u)" -eq 0 ] && echo postgres || id -un )
fresh=0
if [ ! -f "$pgdata/PG_VERSION" ]; then
  fresh=1
  say "initialising PostgreSQL in $pgdata"
  pwfile=$(mktemp); echo "$PG_SUPER_PW" > "$pwfile"; chmod 644 "$pwfile"
  "${as_pg[@]}" "$pgbin/initdb" -D "$pgdata" -U "$super" --pwfile="$pwfile" -E UTF8 --locale=C.UTF-8 \
    --auth-local=peer --auth-host=scram-sha-256 >"$dir/log/initdb.log" 2>&1
  rm -f "$pwfile"
fi
"${as_pg[@]}" mkdir -p "$pgrun"
touch "$dir/log/postgres.log"
[ "$(id -u)" -eq 0 ] && chown postgres:postgres "$dir/log/postgres.log"

pids=()
stopping=0
tick_pid=""
stop_all() {
  stopping=1
  local i
  if [ -n "$tick_pid" ]; then
    kill "$tick_pid" 2>/dev/null || true
    wait "$tick_pid" 2>/dev/null || true
  fi
  # Reverse start order: tally first, the engines last.
  for ((i = ${#pids[@]} - 1; i >= 0; i--)); do
    local pid=${pids[$i]}
    # SIGINT is PostgreSQL's "fast" shutdown; SIGTERM for everything else.
    if [ "$pid" = "${pg_pid:-}" ]; then kill -INT "$pid" 2>/dev/null || true
    else kill -TERM "$pid" 2>/dev/null || true; fi
    wait "$pid" 2>/dev/null || true
  done
  touch "$dir/stopped"
}
trap 'say "stopping"; stop_all; say "stopped"; exit 0' INT TERM

# Settings for ingest's write load: 128 MB of shared buffers (the default)
# hold a fraction of what a drain touches, and each backend then writes out
# dirty pages itself; 1 GB of WAL between checkpoints is about one
# 100,000-batch drain. With settings of this size a backlog of 100,000
# batches drained in 15.1-18.3 s instead of 20.1-21.4 s (docs/operations.md,
# "PostgreSQL settings"). WAL buffers of 64 MB instead of 16 MB (the largest
# PostgreSQL picks itself) took 7 % off such a drain.
# Memory is taken as pages are used, so a test's PostgreSQL stays small.
# TALLY_PG_OPTIONS come last and override them.
# shellcheck disable=SC2086 # TALLY_PG_OPTIONS is a list of words
"${as_pg[@]}" "$pgbin/postgres" -D "$pgdata" -p "$pg_port" -k "$pgrun" -c listen_addresses=127.0.0.1 \
  -c max_connections=200 -c shared_buffers=1GB -c wal_buffers=64MB -c max_wal_size=4GB \
  -c checkpoint_timeout=15min \
  ${TALLY_PG_OPTIONS:-} >>"$dir/log/postgres.log" 2>&1 &
pg_pid=$!
pids+=("$pg_pid")
for ((i = 0; i < 300; i++)); do
  "$pgbin/pg_isready" -q -h 127.0.0.1 -p "$pg_port" && break
  alive "$pg_pid" || { say "PostgreSQL failed to start; see $dir/log/postgres.log"; tail -5 "$dir/log/postgres.log" >&2; exit 1; }
  sleep 0.1
done
super_url="postgresql://$super:$PG_SUPER_PW@127.0.0.1:$pg_port/postgres"
# Idempotent: creates what an older DIR lacks (a role added since).
psql "$super_url" -q -v ON_ERROR_STOP=1 -v owner_pw="$PG_OWNER_PW" -v app_pw="$PG_APP_PW" \
  -v ingest_pw="$PG_INGEST_PW" -f "$here/pg-bootstrap.sql" >/dev/null

# --- NATS with JetStream ----------------------------------------------------
mkdir -p "$dir/nats"
cat > "$dir/nats.conf" <<CONF
listen: 127.0.0.1:$nats_port
server_name: tally-local
max_payload: 8MB
jetstream {
  store_dir: "$dir/nats"
}
CONF
# One Go scheduler thread: nats-server shares this machine's cores with
# PostgreSQL, serve and ingest, and with one per core its idle threads spin
# and pass work between cores at their expense (docs/operations.md, NATS).
GOMAXPROCS=1 nats-server -c "$dir/nats.conf" >>"$dir/log/nats.log" 2>&1 &
nats_pid=$!
pids+=("$nats_pid")
wait_port "$nats_port" 30 || { say "nats-server failed to start; see $dir/log/nats.log"; stop_all; exit 1; }

{
  echo "TALLY_PG_PORT=$pg_port"
  echo "TALLY_NATS_PORT=$nats_port"
  echo "TALLY_PG_SUPER_URL=postgresql://$super:$PG_SUPER_PW@127.0.0.1:$pg_port"
  echo "TALLY_DATABASE_URL=postgresql://tally_app:$PG_APP_PW@127.0.0.1:$pg_port/tally"
  echo "TALLY_INGEST_DATABASE_URL=postgresql://tally_ingest:$PG_INGEST_PW@127.0.0.1:$pg_port/tally"
  echo "TALLY_OWNER_DATABASE_URL=postgresql://tally_owner:$PG_OWNER_PW@127.0.0.1:$pg_port/tally"
  echo "TALLY_NATS_URL=nats://127.0.0.1:$nats_port"
  echo "TALLY_API_KEY_PEPPER=$API_KEY_PEPPER"
} > "$dir/stack.env.tmp"
mv "$dir/stack.env.tmp" "$dir/stack.env"
say "PostgreSQL on 127.0.0.1:$pg_port, NATS on 127.0.0.1:$nats_port"

# --- Tally ------------------------------------------------------------------
if [ -n "$bin" ]; then
  set -a; . "$dir/stack.env"; set +a
  export TALLY_HTTP_PORT=$http_port TALLY_HTTP_ADDR=127.0.0.1
  export TALLY_INGEST_METRICS_PORT=$ingest_metrics_port TALLY_INGEST_METRICS_ADDR=127.0.0.1
  "$bin" migrate 2>>"$dir/log/migrate.log" || { say "migrate failed; see $dir/log/migrate.log"; stop_all; exit 1; }
  if [ ! -f "$dir/demo.env" ]; then
    tenant=$("$bin" admin create-tenant --name "Demo" | sed -E 's/.*"tenant_id":"([^"]+)".*/\1/')
    user=$("$bin" admin create-user --email admin@demo.tally.local --tenant "$tenant" --role admin)
    password=$(echo "$user" | sed -E 's/.*"password":"([^"]+)".*/\1/')
    key=$("$bin" admin create-api-key --tenant "$tenant" --name "demo agents" | sed -E 's/.*"key":"([^"]+)".*/\1/')
    {
      echo "TALLY_TENANT_ID=$tenant"
      echo "TALLY_ADMIN_EMAIL=admin@demo.tally.local"
      echo "TALLY_ADMIN_PASSWORD=$password"
      echo "TALLY_AGENT_KEY=$key"
    } > "$dir/demo.env.tmp"
    chmod 600 "$dir/demo.env.tmp"
    mv "$dir/demo.env.tmp" "$dir/demo.env"
  fi
  # demo.env also names the endpoints, which may change between runs.
  sed -i '/^TALLY_URL=\|^TALLY_INGEST_METRICS_URL=\|^TALLY_DATABASE_URL=\|^TALLY_INGEST_DATABASE_URL=\|^TALLY_OWNER_DATABASE_URL=\|^TALLY_NATS_URL=/d' "$dir/demo.env"
  {
    echo "TALLY_URL=http://127.0.0.1:$http_port"
    echo "TALLY_INGEST_METRICS_URL=http://127.0.0.1:$ingest_metrics_port/metrics"
    grep -E '^TALLY_(DATABASE_URL|INGEST_DATABASE_URL|OWNER_DATABASE_URL|NATS_URL)=' "$dir/stack.env"
  } >> "$dir/demo.env"

  "$bin" ingest >>"$dir/log/ingest.log" 2>&1 &
  pids+=("$!")
  "$bin" serve >>"$dir/log/serve.log" 2>&1 &
  pids+=("$!")
  wait_port "$http_port" 30 || { say "tally serve failed to start; see $dir/log/serve.log"; stop_all; exit 1; }
  "$here/banner.sh" "$dir"
fi

# Stay in the foreground until a signal (the trap) or a child's death.
# `wait` on a short sleep is reliably interrupted by a trapped signal.
while :; do
  sleep 1 &
  tick_pid=$!
  wait "$tick_pid" || true
  [ "$stopping" = 1 ] && break
  for pid in "${pids[@]}"; do
    if ! alive "$pid"; then
      # Ctrl-C reaches the whole process group: a child may exit on it just
      # before our own trap runs. Give the trap that moment.
      sleep 1
      say "process $pid exited unexpectedly; stopping the rest (logs in $dir/log)"
      stop_all
      exit 1
    fi
  done
done
