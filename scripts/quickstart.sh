#!/usr/bin/env bash
# Installs benchmark-infra and runs the example JMH job end to end on this machine:
# artifacts into a local store, results into the embedded store, recordings on disk.
# No AWS account needed. Run as root on Debian 12 (it installs a JDK and Maven if missing).
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/lib.sh
source scripts/lib.sh

ensure_apt_packages openjdk-17-jdk-headless maven sysstat
ensure_python_packages "ops"
scripts/build-java.sh
python3 -m invoke run-worker examples/jmh-quickstart/job.toml
python3 -m invoke results --metrics --limit 20
