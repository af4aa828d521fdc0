#!/usr/bin/env bash
# Installs the Debian packages Tern builds and tests with, if any are missing.
set -euo pipefail
PACKAGES=(build-essential cmake ninja-build pkg-config clang-format liburing-dev libmimalloc-dev
          libabsl-dev nlohmann-json3-dev libgtest-dev libgmock-dev libbenchmark-dev libnats-dev nats-server
          libpaho-mqtt-dev libssl-dev libcrypt-dev zlib1g-dev openssl python3 tzdata)
missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi
