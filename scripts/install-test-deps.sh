#!/usr/bin/env bash
# Installs everything the test suite needs on a fresh Debian 12 machine (run as root).
# Idempotent: skips what is already there.
#
#   scripts/install-test-deps.sh            Debian packages, the project (editable) and Java builds
#   scripts/install-test-deps.sh --apt-only only the Debian packages (the test services call this)
set -euo pipefail
cd "$(dirname "$0")/.."

# maven + openjdk: the Java examples; docker.io: the engine that builds the worker image and
# runs moto Batch's job containers; docker-registry: a local registry to push to; debootstrap:
# makes the base image locally; apache2-utils: htpasswd for the registry with authentication.
APT_PACKAGES=(sysstat zstd maven openjdk-17-jdk-headless docker.io docker-registry debootstrap
  apache2-utils)
missing=()
for pkg in "${APT_PACKAGES[@]}"; do
  dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
done
if ((${#missing[@]})); then
  echo "installing Debian packages: ${missing[*]}" >&2
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi
[[ "${1:-}" == "--apt-only" ]] && exit 0

python3 -m pip install -q --disable-pip-version-check -e ".[ops,test]"

scripts/build-java.sh
