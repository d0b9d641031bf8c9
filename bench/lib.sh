# Shell helpers of the benchmark scripts (bench/run.sh, bench/drain.sh);
# source it after deploy/local/lib.sh.

say() { echo "bench: $*" >&2; }
die() {
  say "$*"
  exit 1
}

# stop_pid PID: SIGTERM, then wait for it (empty PID: nothing).
stop_pid() {
  [ -n "$1" ] || return 0
  kill -TERM "$1" 2>/dev/null || true
  wait "$1" 2>/dev/null || true
}

now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f\n", b - a }'; }

# cpu_s PID -> user+system CPU seconds of a running process
cpu_s() {
  awk -v hz="$(getconf CLK_TCK)" '{ sub(/^.*\) /, ""); printf "%.2f\n", ($12 + $13) / hz }' "/proc/$1/stat"
}

# tree_cpu PID -> user+system CPU seconds of a process and of its children,
# running and reaped: for a PostgreSQL postmaster, every backend's and
# background process's
tree_cpu() {
  { cat /proc/[0-9]*/stat 2>/dev/null || true; } | awk -v p="$1" -v hz="$(getconf CLK_TCK)" \
    '{ pid = $1; sub(/^.*\) /, ""); if (pid == p || $2 == p) s += $12 + $13 + $14 + $15 }
     END { printf "%.2f\n", s / hz }'
}

# idle_s -> seconds the machine's CPUs have idled (idle and I/O wait) since boot
idle_s() {
  awk -v hz="$(getconf CLK_TCK)" '/^cpu / { printf "%.2f\n", ($5 + $6) / hz; exit }' /proc/stat
}

# hwm_mib PID -> peak resident set size (VmHWM) in MiB
hwm_mib() {
  awk '/^VmHWM:/ { printf "%.1f\n", $2 / 1024 }' "/proc/$1/status"
}

# The psql binary itself: Debian's psql is a Perl wrapper, and the scripts
# poll PostgreSQL often. sql STATEMENT runs it as the schema owner.
bench_psql=$(pg_bin)/psql
sql() { "$bench_psql" "$TALLY_OWNER_DATABASE_URL" -qAt -v ON_ERROR_STOP=1 -c "$1"; }

# Rate limits are for tenants sharing a server, not for a benchmark: with
# serve's defaults (2,000 batches/s a key) the fleet's devices get 429s and
# back off unevenly (a drain's backlog then held 20 to 793 reports a device
# instead of about 50 each). Exports the limits out of the way for the
# serve the caller starts.
unlimited_rates() {
  export TALLY_RATE_KEY_PER_S=10000000 TALLY_RATE_KEY_BURST=10000000
  export TALLY_RATE_TENANT_PER_S=10000000 TALLY_RATE_TENANT_BURST=10000000
}
