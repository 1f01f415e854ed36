#!/usr/bin/env bash
# Every check: lint, types, and the whole test suite (unit, integration, browser).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export PYTHONDONTWRITEBYTECODE=1
.venv/bin/ruff check lam tests benchmarks
.venv/bin/mypy
set +e
# Two workers, each taking whole files (module fixtures, and the order some files rely on,
# stay as they are): most browser tests wait on pages more than they use a core.
.venv/bin/pytest -q -p no:cacheprovider -n 2 --dist loadfile "$@"
code=$?
set -e
if [ "$code" -eq 5 ]; then
  echo "test: pytest collected no tests" >&2
  exit 1
fi
exit "$code"
