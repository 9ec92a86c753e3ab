#!/usr/bin/env bash
# Installs everything the test suite needs on a fresh Debian 12 machine (run as root).
# Idempotent: skips what is already there.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/lib.sh
source scripts/lib.sh

APT_PACKAGES=(sysstat zstd maven openjdk-17-jdk-headless)
ensure_apt_packages "${APT_PACKAGES[@]}"
ensure_python_packages "ops,test"
scripts/build-java.sh
