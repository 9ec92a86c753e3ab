#!/usr/bin/env bash
# Runs every benchmark script under bench/, each measuring this project side by side with its
# yardstick in the same run. Installs the yardsticks first (the `bench` extra).
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/lib.sh
source scripts/lib.sh

scripts/install-test-deps.sh
ensure_python_packages "ops,test,bench"
for script in startup dataset_fetch artifact_upload batch_scale neo4j_write; do
  echo "== bench/${script}.py"
  python "bench/${script}.py"
done
