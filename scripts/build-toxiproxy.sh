#!/usr/bin/env bash
# Builds Toxiproxy (Shopify's TCP fault proxy), which the fault tests put between the project
# and its servers. Built with `go install` from the Go module proxy (Debian's golang-go when no
# Go is installed). Idempotent. Output: build/bin/toxiproxy-server.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/lib.sh
source scripts/lib.sh

VERSION=v2.5.0
out=build/bin/toxiproxy-server
stamp="$out.version"  # `go install` builds carry no version of their own
if [[ -x "$out" && "$(cat "$stamp" 2>/dev/null)" == "$VERSION" ]]; then
  exit 0
fi
command -v go >/dev/null 2>&1 || ensure_apt_packages golang-go
echo "building toxiproxy $VERSION" >&2
mkdir -p build/bin
gobin=$(mktemp -d)
trap 'rm -rf "$gobin"' EXIT
GOBIN="$gobin" go install "github.com/Shopify/toxiproxy/v2/cmd/server@$VERSION"
mv "$gobin/server" "$out"
echo "$VERSION" >"$stamp"
echo "built $out" >&2
