#!/usr/bin/env bash
# Proves that scripts/bench.sh runs on a fresh machine: runs it in a stock Debian 12 container
# made from the locally built base image (no python3, no JDK, no pip), on this checkout's
# tracked files. The container shares the host's network (the benchmarks' servers are on
# loopback) and the host's Docker engine through its socket (bench/batch_scale.py runs real
# job containers). Unprivileged, it cannot drop the page cache: bench/dataset_fetch.py then
# says so and measures warm.
#
#   scripts/bench-in-debian.sh [IMAGE]      IMAGE defaults to debian:bookworm-slim
set -euo pipefail
cd "$(dirname "$0")/.."

image=${1:-debian:bookworm-slim}
name=bench-in-debian-$$
docker run -d --network host -v /var/run/docker.sock:/var/run/docker.sock --name "$name" \
  "$image" sleep infinity >/dev/null
trap 'docker rm -f "$name" >/dev/null' EXIT

git ls-files -z | tar --null -T - -cf - | docker exec -i "$name" \
  sh -c 'mkdir -p /root/benchmark-infra && tar -x -C /root/benchmark-infra'
docker exec "$name" sh -c 'apt-get update -qq && apt-get install -y -qq ca-certificates >/dev/null'
# The host's trust (a TLS-inspecting proxy's CA, a pip index setting), as the quickstart test
# passes it: files, never command-line values.
docker cp /etc/ssl/certs/ca-certificates.crt \
  "$name:/usr/local/share/ca-certificates/host-bundle.crt"
docker exec "$name" update-ca-certificates >/dev/null
[[ -f /etc/pip.conf ]] && docker cp /etc/pip.conf "$name:/etc/pip.conf"
maven_opts=()
if [[ -f /etc/ssl/certs/java/cacerts ]]; then
  docker cp /etc/ssl/certs/java/cacerts "$name:/root/host-java-cacerts"
  maven_opts=(-e MAVEN_OPTS=-Djavax.net.ssl.trustStore=/root/host-java-cacerts)
fi
docker exec -w /root/benchmark-infra "${maven_opts[@]}" "$name" bash -c 'time scripts/bench.sh'
