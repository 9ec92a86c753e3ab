#!/usr/bin/env bash
# Installs everything the test suite needs on a fresh Debian 12 machine (run as root).
# Idempotent: skips what is already there.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/lib.sh
source scripts/lib.sh

# maven + JDK: the example benchmarks and the macro stand-in; sysstat/zstd: profilers and
# datasets; packer: `invoke build-ami` and its tests; shellcheck: lints the AMI boot script
APT_PACKAGES=(sysstat zstd maven openjdk-17-jdk-headless packer shellcheck)
ensure_apt_packages "${APT_PACKAGES[@]}"
ensure_python_packages "ops,test"
scripts/build-java.sh
