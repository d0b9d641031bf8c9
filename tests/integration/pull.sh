#!/usr/bin/env bash
# ingest/pull.h against the fixture's nats-server (tests/integration/test_pull.c):
# a fetch never takes more than asked, even with more than that already
# delivered to its inbox (where nats.c 3.4.1's own fetch overflows its array).
. "$(dirname "$0")/../lib/testlib.sh"

"$TALLY_PULL_TEST_BIN" "$TALLY_NATS_URL" "$TALLY_STREAM_NAME" >"$t_dir/test_pull.log" 2>&1 ||
  fail "test_pull: $(cat "$t_dir/test_pull.log")"
