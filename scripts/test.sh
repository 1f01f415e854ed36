#!/usr/bin/env bash
# Every check: lint, types, and the whole test suite (unit, integration, browser).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export PYTHONDONTWRITEBYTECODE=1
.venv/bin/ruff check lam tests benchmarks
.venv/bin/mypy
set +e
.venv/bin/pytest -q -p no:cacheprovider "$@"
code=$?
set -e
if [ "$code" -eq 5 ]; then
  echo "test: pytest collected no tests" >&2
  exit 1
fi
exit "$code"
