#!/usr/bin/env bash
# Installs what the tests need, then runs the linters, the type checker and every test.
# The tests start the services they need themselves (moto server, ...), once per session.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-test-deps.sh
echo "== ruff" >&2
python3 -m ruff check .
python3 -m ruff format --check .
echo "== mypy --strict" >&2
python3 -m mypy
echo "== pytest" >&2
python3 -m pytest "$@"
