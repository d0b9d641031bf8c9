#!/usr/bin/env bash
# ctest fixture: `start DIR` runs deploy/local/stack.sh in the background (its
# own session, free ports) and returns once PostgreSQL and NATS are ready;
# `stop DIR` stops it, waits until every process it started is gone, and
# removes DIR. Runs as FIXTURES_CLEANUP, so it also runs when tests fail.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
. "$root/deploy/local/lib.sh"
cmd=$1
dir=$2

case "$cmd" in
start)
  rm -rf "$dir"
  mkdir -p "$dir"
  TALLY_PG_PORT=0 TALLY_NATS_PORT=0 setsid "$root/deploy/local/stack.sh" "$dir" \
    >"$dir.log" 2>&1 </dev/null &
  echo $! >"$dir.pid"
  for ((i = 0; i < 600; i++)); do
    [ -f "$dir/stack.env" ] && { echo "stack ready: $(tr '\n' ' ' <"$dir/stack.env" | grep -o 'TALLY_PG_PORT=[0-9]* TALLY_NATS_PORT=[0-9]*')"; exit 0; }
    alive "$(cat "$dir.pid")" || break
    sleep 0.1
  done
  echo "stack failed to start:" >&2
  cat "$dir.log" >&2
  exit 1
  ;;
stop)
  [ -f "$dir.pid" ] || exit 0
  pid=$(cat "$dir.pid")
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < 600; i++)); do
    [ -f "$dir/stopped" ] && break
    alive "$pid" || break
    sleep 0.1
  done
  # Whatever is left of the stack's session (it should be nothing) goes now.
  if pkill -KILL -s "$pid" 2>/dev/null; then echo "stack: killed leftovers" >&2; fi
  rm -rf "$dir" "$dir.pid"
  echo "stack stopped"
  ;;
*)
  echo "usage: $0 start|stop DIR" >&2
  exit 2
  ;;
esac
