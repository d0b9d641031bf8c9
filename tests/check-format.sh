#!/usr/bin/env bash
# Fails when a C source is not formatted per .clang-format.
set -euo pipefail
cd "$(dirname "$0")/.."
mapfile -t files < <(git ls-files '*.c' '*.h' 2>/dev/null || true)
[ ${#files[@]} -gt 0 ] || mapfile -t files < <(find common auth server ingest cmd tests bench -name '*.[ch]' 2>/dev/null)
clang-format --dry-run --Werror "${files[@]}"
echo "format: ${#files[@]} files clean"
