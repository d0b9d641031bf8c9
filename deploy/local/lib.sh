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

# A minimal NATS protocol client for scripts (the machine has no NATS CLI),
# on file descriptor 4 over bash's /dev/tcp: nats_connect nats://HOST:PORT
# (reads INFO, sends CONNECT with headers on), then PUB/SUB written to fd 4
# by the caller, nats_next SECONDS for each message, nats_close.
nats_connect() {
  local hp=${1#nats://} info
  exec 4<>"/dev/tcp/${hp%:*}/${hp##*:}" || return 1
  IFS= read -r -t 5 info <&4 || return 1
  printf 'CONNECT {"verbose":false,"headers":true}\r\n' >&4
}
# nats_next SECONDS: waits that long at most for the next MSG or HMSG
# (answering PINGs); sets nats_subject, nats_reply ("" when none) and
# nats_payload (an HMSG's headers dropped). False on timeout or -ERR.
nats_next() {
  local LC_ALL=C line body f hdr with_reply
  while IFS= read -r -t "$1" line <&4; do
    read -r -a f <<<"${line%$'\r'}"
    case ${f[0]} in
      PING) printf 'PONG\r\n' >&4 ;;
      -ERR) echo "nats-server: ${line%$'\r'}" >&2 && return 1 ;;
      MSG | HMSG)
        # MSG subject sid [reply] bytes; HMSG subject sid [reply] header-bytes bytes
        hdr=0 with_reply=5
        [ "${f[0]}" = MSG ] || hdr=${f[-2]} with_reply=6
        IFS= read -r -N $((f[-1] + 2)) -t 5 body <&4 || return 1
        nats_subject=${f[1]}
        nats_reply=""
        [ "${#f[@]}" -lt "$with_reply" ] || nats_reply=${f[3]}
        nats_payload=${body:hdr:f[-1]-hdr}
        return 0
        ;;
    esac
  done
  return 1
}
# nats_pub SUBJECT FILE [HEADER...]: publishes FILE's bytes on SUBJECT, with
# the headers given ("Name: value" each; an HPUB then, a PUB without), and
# returns once nats-server has read it (PING answered by PONG). False on
# -ERR or no PONG within 5 s.
nats_pub() {
  local LC_ALL=C subject=$1 file=$2 size hdr="" h line
  shift 2
  size=$(wc -c <"$file")
  if [ $# -gt 0 ]; then
    hdr=$'NATS/1.0\r\n'
    for h; do hdr+="$h"$'\r\n'; done
    hdr+=$'\r\n'
    printf 'HPUB %s %d %d\r\n%s' "$subject" "${#hdr}" $((${#hdr} + size)) "$hdr" >&4
  else
    printf 'PUB %s %d\r\n' "$subject" "$size" >&4
  fi
  cat "$file" >&4
  printf '\r\nPING\r\n' >&4
  while IFS= read -r -t 5 line <&4; do
    case ${line%$'\r'} in
      PONG) return 0 ;;
      -ERR*) echo "nats-server: ${line%$'\r'}" >&2 && return 1 ;;
    esac
  done
  return 1
}
nats_close() { exec 4>&-; }
# nats_request URL SUBJECT: an empty request on its own connection; prints
# the reply's payload. False if none came within 5 s.
nats_request() {
  nats_connect "$1" || return 1
  printf 'SUB _script.reply 1\r\nPUB %s _script.reply 0\r\n\r\n' "$2" >&4
  local rc=0
  nats_next 5 && printf '%s\n' "$nats_payload" || rc=1
  nats_close
  return $rc
}
