#!/usr/bin/env bash
# Installs what the tests need (into .venv), then runs the linters, the type checker and every
# test.
# The tests start the services they need themselves (moto server, ...), once per session.
set -euo pipefail
cd "$(dirname "$0")/.."

# shellcheck source=scripts/lib.sh
source scripts/lib.sh

scripts/install-test-deps.sh
ensure_venv # what install-test-deps.sh installed into, first on PATH from here on
echo "== ruff" >&2
python -m ruff check .
python -m ruff format --check .
echo "== mypy --strict" >&2
python -m mypy
echo "== pytest" >&2
python -m pytest "$@"
