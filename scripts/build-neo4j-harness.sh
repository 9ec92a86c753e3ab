#!/usr/bin/env bash
# Builds the Neo4j test-harness launcher the tests start (tests/neo4j-harness).
# Needs Java 17+ and Maven (installed from Debian's archive when missing); dependencies come
# from Maven Central through mvn. Idempotent: skips the build when the jar is newer than its
# sources. Output: tests/neo4j-harness/target/neo4j-harness-launcher.jar (+ target/lib/).
set -euo pipefail
cd "$(dirname "$0")/../tests/neo4j-harness"

if ! command -v mvn >/dev/null 2>&1 || ! command -v javac >/dev/null 2>&1; then
  echo "installing Java 17 and Maven from Debian's archive" >&2
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq openjdk-17-jdk-headless maven >/dev/null
fi

jar=target/neo4j-harness-launcher.jar
if [[ -f "$jar" && -d target/lib && -z "$(find pom.xml src -newer "$jar" -print -quit)" ]]; then
  echo "neo4j harness launcher is up to date ($jar)" >&2
  exit 0
fi
echo "building the neo4j harness launcher" >&2
mvn -B -q package
echo "built $(pwd)/$jar" >&2
