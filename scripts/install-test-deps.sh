#!/usr/bin/env bash
# Installs everything the test suite needs on a fresh Debian 12 machine (run as root).
# Idempotent: skips what is already there.
#
#   scripts/install-test-deps.sh            Debian packages, the project (editable, in .venv), Java builds
#   scripts/install-test-deps.sh --apt-only only the Debian packages (the test services call this)
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/lib.sh
source scripts/lib.sh

# maven + JDK: the example benchmarks and the macro stand-in; sysstat/zstd: profilers and
# datasets; packer: `invoke build-ami` and its tests; shellcheck: lints the AMI boot script;
# docker.io: the engine that builds the worker image and runs moto Batch's job containers;
# docker-registry: a local registry to push to; debootstrap: makes the base image locally;
# apache2-utils: htpasswd for the registry with authentication; chromium: opens the HTML report
# headless in the tests; tmux: the terminal-output tests run commands in a real pseudo-terminal.
APT_PACKAGES=(sysstat zstd maven openjdk-17-jdk-headless packer shellcheck docker.io
  docker-registry debootstrap apache2-utils chromium tmux)
ensure_apt_packages "${APT_PACKAGES[@]}"
[[ "${1:-}" == "--apt-only" ]] && exit 0
ensure_python_packages "ops,test"
scripts/build-java.sh
scripts/build-neo4j-harness.sh
scripts/build-toxiproxy.sh
