#!/usr/bin/env bash
# Set-up for a fresh machine, safe to run again: a virtualenv with lam and its test tools,
# and Debian's Chromium (+ Xvfb for headed recording) when they are missing.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
  echo "setup: lam needs Python 3.11 or newer ($PYTHON is $("$PYTHON" --version 2>&1))" >&2
  exit 2
fi

if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
stamp=.venv/.lam-installed
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
  .venv/bin/python -m pip install --quiet --upgrade pip
  .venv/bin/python -m pip install --quiet -e '.[dev,bench,ray]'
  touch "$stamp"
fi

need=()
command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 \
  || [ -n "${LAM_CHROMIUM:-}" ] || need+=(chromium)
command -v Xvfb >/dev/null 2>&1 || need+=(xvfb)
if [ ${#need[@]} -gt 0 ]; then
  if command -v apt-get >/dev/null 2>&1; then
    sudo=""
    [ "$(id -u)" -ne 0 ] && sudo="sudo"
    echo "setup: installing ${need[*]} from Debian's packages"
    # Wait for a busy apt/dpkg lock (another install, unattended upgrades) instead of failing.
    lock=(-o DPkg::Lock::Timeout=900 -o Acquire::Retries=3)
    $sudo apt-get "${lock[@]}" update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get "${lock[@]}" install -y -qq "${need[@]}" >/dev/null
  else
    echo "setup: please install ${need[*]} (Chromium for the browser, Xvfb for headed" \
      "recording), or point LAM_CHROMIUM at a Chromium binary" >&2
    exit 2
  fi
fi

# The real-app suite's npm apps (json-server, TodoMVC), pinned in tests/realapps/package.json.
realapps=tests/realapps
if [ -f "$realapps/package.json" ]; then
  npm_stamp=$realapps/node_modules/.lam-installed
  if [ ! -f "$npm_stamp" ] || [ "$realapps/package.json" -nt "$npm_stamp" ] \
      || [ "$realapps/package-lock.json" -nt "$npm_stamp" ]; then
    if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
      echo "setup: the real-app tests need Node.js 18+ with npm (for json-server and TodoMVC);" \
        "install them (Debian: apt-get install nodejs npm) and run this again" >&2
      exit 2
    fi
    echo "setup: installing the real-app suite's npm packages into $realapps/node_modules"
    (cd "$realapps" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
    touch "$npm_stamp"
  fi
fi
