#!/usr/bin/env bash
# Builds the Java pieces the worker drives and copies them to build/java/:
#   examples/jmh-quickstart  -> build/java/benchmarks.jar     (JMH uber jar)
#   tests/java/macro-standin -> build/java/macro-standin.jar  (stand-in for macro.jar)
# A project whose jar is newer than its pom.xml and everything under src/ is not rebuilt, so
# a second run needs neither Maven nor the network. --force rebuilds everything.
# Needs java (17+) and mvn on PATH; Maven downloads JMH and the pinned plugins on first use.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
out_dir="$root/build/java"

force=0
for arg in "$@"; do
  case "$arg" in
    --force) force=1 ;;
    -h | --help)
      sed -n '2,7p' "$0" | sed 's/^# \{0,1\}//'
      exit 0
      ;;
    *)
      echo "build-java.sh: unknown argument: $arg (only --force)" >&2
      exit 2
      ;;
  esac
done

for tool in java mvn; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "build-java.sh: '$tool' not found on PATH (Debian: apt-get install openjdk-17-jdk-headless maven)" >&2
    exit 1
  fi
done

# build PROJECT_DIR JAR_IN_TARGET OUTPUT_NAME
build() {
  local project="$1" jar="$2" name="$3"
  local dir="$root/$project"
  local built="$dir/target/$jar"
  if ((force == 0)) && [[ -f "$built" ]] &&
    [[ -z "$(find "$dir/pom.xml" "$dir/src" -newer "$built" -print -quit)" ]]; then
    echo "up to date: $project"
  else
    echo "building $project ..."
    local log
    log="$(mktemp)"
    # Maven's output is kept only when the build fails (it prints stray colour codes otherwise).
    if ! (cd "$dir" && mvn -q -B package -DskipTests) >"$log" 2>&1; then
      cat "$log" >&2
      rm -f "$log"
      echo "build-java.sh: Maven build of $project failed" >&2
      exit 1
    fi
    rm -f "$log"
    if [[ ! -f "$built" ]]; then
      echo "build-java.sh: $project built but $built is missing" >&2
      exit 1
    fi
    # Maven may leave an unchanged jar as it was; mark it as built from the current sources.
    touch "$built"
  fi
  mkdir -p "$out_dir"
  cp -p "$built" "$out_dir/$name"
}

build examples/jmh-quickstart benchmarks.jar benchmarks.jar
build tests/java/macro-standin macro-standin.jar macro-standin.jar
