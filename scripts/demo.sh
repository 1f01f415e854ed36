#!/usr/bin/env bash
# The demo: lam validates, dry-runs and runs plans against the demo pet shop, a real web app
# with a SQLite database started here on 127.0.0.1.
set -uo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh || exit $?

work=$(mktemp -d "${TMPDIR:-/tmp}/lam-demo.XXXXXX")
port=$(.venv/bin/python -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
export LAM_HOME="$work/lam"
export LAM_CONFIG_DIR="$work/config"  # the demo's own operator key and ledger, not yours
url="http://127.0.0.1:$port"
lam=.venv/bin/lam

.venv/bin/python -m lam.sandbox.demo --port "$port" --db "$work/shop.db" \
  --access-log "$work/access.log" >"$work/server.log" 2>&1 &
server=$!
trap 'kill $server 2>/dev/null; wait $server 2>/dev/null' EXIT
for _ in $(seq 100); do
  .venv/bin/python -c "import httpx,sys; httpx.get('$url/login', timeout=1)" 2>/dev/null && break
  sleep 0.1
done

step() { printf '\n\033[1m== %s\033[0m\n$ %s\n' "$1" "${*:2}"; "${@:2}"; echo "(exit $?)"; }
pets() { .venv/bin/python -c "import sqlite3; print('pets in the database:', ', '.join(r[0] for r in sqlite3.connect('$work/shop.db').execute('select name from pets order by id')))"; }
requests() { echo "requests the shop received so far: $(grep -c . "$work/access.log" 2>/dev/null || echo 0)"; }

echo "demo pet shop: $url   (records in $LAM_HOME/runs)"
pets
step "Validate the example plans (nothing runs)" \
  $lam validate examples/demo_api_pets.yaml --api shop=$url/api
step "A destructive plan validates, but is held for approval (exit 3)" \
  $lam validate examples/demo_delete_pet.yaml --api shop=$url/api
before=$(sha256sum "$work/shop.db" | cut -c1-16); requests
step "Dry run: every step against the sandbox simulator; effects listed, nothing sent" \
  $lam dry-run examples/demo_api_pets.yaml --api shop=$url/api --input name=Ghost
echo "database digest before $before, after $(sha256sum "$work/shop.db" | cut -c1-16)"; requests
step "Live run: the same plan changes the real database" \
  $lam run examples/demo_api_pets.yaml --api shop=$url/api --no-prompt
pets
step "Live run of the destructive plan without approval: refused before it starts" \
  $lam run examples/demo_delete_pet.yaml --api shop=$url/api --no-prompt
pets
step "The human approves exactly the delete step" \
  $lam run examples/demo_delete_pet.yaml --api shop=$url/api --approve remove
pets
step "A recorded workflow replayed without a model, in the sandbox, on this instance of the app" \
  env PASSWORD=admin-pass $lam replay recordings/demo_rename_pet.yaml --app app=$url/ --dry-run
pets
before=$(sha256sum "$work/shop.db" | cut -c1-16)
step "A plan mixing UI (real Chromium) and API steps, dry-run: page writes are held and answered by the simulator" \
  $lam dry-run examples/demo_mixed.yaml --app shop=$url/ --api shop=$url/api
echo "database digest before $before, after $(sha256sum "$work/shop.db" | cut -c1-16)"
step "The same plan live" \
  $lam run examples/demo_mixed.yaml --app shop=$url/ --api shop=$url/api --no-prompt
pets
step "An HTML report of that run (plan, verdicts, requests, screenshots, trace integrity)" \
  $lam report last
step "Every record is signed and anchored in the ledger: lam verify checks them all (exit 0)" \
  $lam verify --all
last_trace="$(ls -d "$LAM_HOME"/runs/*/ | tail -1)trace.jsonl"
printf '\n(someone edits %s: the first "ok" becomes "blocked")\n' "$last_trace"
sed -i '0,/"status": "ok"/s//"status": "blocked"/' "$last_trace"
step "lam verify names the edited line (exit 1)" \
  $lam verify last
step "A goal in plain words: lam do observes the page, proposes steps, guards and acts" \
  $lam do "log in as admin with password 'admin-pass', then click Add a pet, type 'Waffles' into Name, then click Save" --app $url/ --no-prompt --no-memory
pets
step "A destructive goal: lam do stops before the Delete click and changes nothing (exit 3)" \
  $lam do "log in as admin with password 'admin-pass', then click Kiwi, click Delete, then click 'Yes, delete'" --app $url/ --no-prompt --no-memory
pets
step "The same recording after the app's data changed: Rex is gone, two look-alikes remain; lam refuses to guess (exit 1)" \
  env PASSWORD=admin-pass $lam replay recordings/demo_rename_pet.yaml --app app=$url/ --dry-run
echo
echo "Everything above is recorded in $LAM_HOME/runs; open the report.html files in a browser."
