#!/usr/bin/env bash
# Installs benchmark-infra and runs the example JMH job end to end on this machine:
# artifacts into a local store, results into the embedded store, recordings on disk.
# No AWS account needed. Run as root on Debian 12 (it installs python3, a JDK and Maven if
# missing); the Python packages go into the project's virtual environment .venv.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/lib.sh
source scripts/lib.sh

ensure_apt_packages openjdk-17-jdk-headless maven sysstat
ensure_python_packages "ops"
scripts/build-java.sh
invoke run-worker examples/jmh-quickstart/job.toml
invoke results --metrics --limit 20
echo "the tasks run from .venv: activate it with  . .venv/bin/activate  (then invoke --list)" >&2
