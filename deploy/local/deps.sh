#!/usr/bin/env bash
# Installs the Debian 12 packages Tally needs to build, run and test, if any is
# missing. Idempotent and quiet when everything is present; needs root (or
# sudo) only when something must be installed.
set -euo pipefail

pkgs=(
  build-essential cmake pkg-config git curl ca-certificates procps psmisc
  libmicrohttpd-dev libjansson-dev libjwt-dev libssl-dev libpq-dev
  libnats-dev zlib1g-dev libargon2-dev
  postgresql-15 postgresql-client-15 nats-server
  clang-format clang libclang-rt-14-dev jq wrk gnuplot-nox
)

missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
# The schema agreement test runs ajv from npm; any Node.js with npm will do.
command -v npm >/dev/null 2>&1 || missing+=(nodejs npm)
[ ${#missing[@]} -eq 0 ] && exit 0

echo "deps: installing ${missing[*]}" >&2
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
# A fresh machine has no package lists yet; update once, then install.
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
