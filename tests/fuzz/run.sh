#!/usr/bin/env bash
# Builds the libFuzzer drivers with clang (ASan+UBSan) and runs each for
# FUZZ_SECONDS (default 20) from the schema examples as seed corpus. A crash,
# leak or abort fails the test and leaves the reproducer in WORKDIR.
# Usage: run.sh REPO_ROOT WORKDIR
set -euo pipefail
root=$(cd "$1" && pwd)
mkdir -p "$2"
work=$(cd "$2" && pwd)
seconds=${FUZZ_SECONDS:-20}
cflags=(-g -O1 -std=c11 -D_GNU_SOURCE -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined -I"$root")
srcs=("$root/common/json.c" "$root/common/jsonschema.c" "$root/common/regex.c" "$root/common/problem.c" "$root/common/util.c" "$root/common/log.c" "$root/server/body.c")

clang "${cflags[@]}" "$root/tests/fuzz/fuzz_batch.c" "${srcs[@]}" -ljansson -lcrypto -lz -lm -o "$work/fuzz_batch"
mkdir -p "$work/corpus"
cp "$root"/schema/examples/valid/*.json "$root"/schema/examples/invalid/*.json "$work/corpus/"
gzip -c "$root/docs/examples/inventory-batch.json" >"$work/corpus/batch.gz"

cd "$work"
TALLY_SCHEMA="$root/schema/inventory-batch.v1.schema.json" ./fuzz_batch -max_total_time="$seconds" \
  -max_len=65536 -rss_limit_mb=2048 -print_final_stats=1 corpus 2>&1 | tail -n 12
