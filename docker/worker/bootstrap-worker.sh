#!/usr/bin/env bash
# Entry point of the worker image. Deliberately no `set -x`: the environment may hold secrets.
#
#   bootstrap-worker.sh run --job-parameters s3://.../job-parameters.json [--workspace DIR]
#
# Cleans the workspace (on Batch the host's instance-store disk is mounted there, and may hold
# the previous job's files), then runs the worker baked into the image. The worker's exit code
# is the container's: 0 ok, 2 bad job, 3 benchmark failed, 75 transient (Batch retries it).
set -euo pipefail

workspace="${BENCH_WORKSPACE:-/work/run}"
if [[ -d "$workspace" ]]; then
  find "$workspace" -mindepth 1 -delete
fi
mkdir -p "$workspace"
cd "$workspace"
exec /opt/bench/bin/python -m worker "$@"
