#!/usr/bin/env bash
# Every PostgreSQL connection of Tally notices a server that vanished
# without a reset within about 25 s (TCP keepalives, a user timeout), not
# the kernel's two hours: the settings read back from a real connection's
# socket (tests/integration/test_db.c).
. "$(dirname "$0")/../lib/testlib.sh"

case $TALLY_DATABASE_URL in
  *@127.0.0.1:* | *@localhost:*) ;;
  *) fail "the test needs a TCP URL, got $TALLY_DATABASE_URL" ;;
esac
"$TALLY_DB_TEST_BIN" "$TALLY_DATABASE_URL" >"$t_dir/test_db.log" 2>&1 ||
  fail "test_db: $(cat "$t_dir/test_db.log")"
