# Shell helpers shared by deploy/local/stack.sh and the test harness.
# Source it; it defines functions only.

# Prints a TCP port on 127.0.0.1 that nothing listens on right now, below
# the kernel's ephemeral range: a port there may be the local end of some
# outgoing connection (a load generator's), and bind() would then fail
# although nothing listens.
free_port() {
  local p low
  low=$(awk '{print $1}' /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || echo 32768)
  [ "$low" -gt 11000 ] || low=32768
  while :; do
    p=$((10000 + RANDOM % (low - 10000)))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
      echo "$p"
      return
    fi
  done
}

# True while a process exists and is not a zombie. (PID 1 here reaps
# orphans late, so a bare kill -0 would call a dead process alive.)
alive() {
  local state
  state=$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null) || return 1
  [ -n "$state" ] && [ "$state" != Z ]
}

# wait_port PORT SECONDS: until something accepts TCP connections on it.
wait_port() {
  local i
  for ((i = 0; i < $2 * 10; i++)); do
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
    sleep 0.1
  done
  return 1
}

# The command prefix that runs a program as the postgres OS user when we
# are root (initdb and postgres refuse to run as root); empty otherwise.
# setpriv execs in place, so `"${as_pg[@]}" postgres ... &` leaves $! = the
# server itself (a shell function in the background would be a subshell).
as_pg=()
[ "$(id -u)" -eq 0 ] && as_pg=(setpriv --reuid=postgres --regid=postgres --init-groups --)

pg_bin() {
  ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1
}
