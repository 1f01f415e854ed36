"""What the network guard costs a page: load the demo app's pages with every request routed
through lam's guard (live, and dry run with the sandbox answering the API) against plain loads,
in the same browser and run. Prints medians and ratios to the plain baseline.

    .venv/bin/python benchmarks/ui_guard_bench.py [ROUNDS]
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from lam.adapters.browser import BrowserSession
from lam.plan import AppDecl, Plan
from lam.policy import default_policy
from lam.run.context import RunState
from lam.run.effects import EffectLog
from lam.run.guard import DryRunGuard, LiveGuard
from lam.run.kill import KillSwitch
from lam.run.network_guard import ApiRoute, NetworkGuard
from lam.run.record import RunRecord
from lam.run.ui_step import LiveReader
from lam.sandbox.demo.live import running
from lam.sandbox.simulator import Simulator
from lam.spec import load_spec

ROOT = Path(__file__).resolve().parents[1]
PAGES = ("/pets", "/pets/1", "/app/pets", "/app/pets/2")


def _state(tmp: Path, url: str, dry: bool) -> RunState:
    plan = Plan(name="bench", steps=(), apps={"shop": AppDecl("shop", url + "/", "shop")})
    record = RunRecord.create(tmp / "runs")
    guard_type = DryRunGuard if dry else LiveGuard
    guard = guard_type(default_policy(), declared_hosts=["127.0.0.1"], record=record)
    return RunState(
        plan=plan, inputs={}, outputs={}, guard=guard, record=record,
        kill=KillSwitch(record.directory, tmp), effects=EffectLog() if dry else None,
        app_urls={"shop": url + "/"}, api_urls={"shop": url + "/api"},
    )  # fmt: skip


def _load_all(session: BrowserSession, url: str, rounds: int) -> list[float]:
    page = session.page
    page.goto(url + "/login")
    page.fill("#username", "admin")
    page.fill("#password", "admin-pass")
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url("**/pets", timeout=30_000)
    if "/login" in page.url:
        raise SystemExit(f"could not sign in ({page.url}): {page.inner_text('body')[:200]}")
    page.evaluate(
        "async () => { const r = await fetch('/api/login', {method: 'POST', headers:"
        " {'Content-Type': 'application/json'}, body: JSON.stringify({username: 'admin',"
        " password: 'admin-pass'})}); localStorage.setItem('lam-demo-token',"
        " (await r.json()).token); }"
    )
    times = []
    for _ in range(rounds):
        for path in PAGES:
            started = time.perf_counter()
            page.goto(url + path, wait_until="load")
            if path.startswith("/app/"):  # rendered once its fetch() has answered
                page.wait_for_selector("#app h1")
            times.append(time.perf_counter() - started)
    return times


def main(rounds: int) -> None:
    spec = load_spec(str(ROOT / "specs" / "demo.yaml"))
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp, running(Path(tmp) / "shop.db") as demo:
        url = demo.url
        with BrowserSession() as session:
            for mode in ("plain", "live guard", "dry-run guard"):
                context = session.new_context()
                reader = None
                if mode != "plain":
                    dry = mode.startswith("dry")
                    state = _state(Path(tmp), url, dry)
                    sim = None
                    if dry:
                        reader = LiveReader(url + "/api")
                        sim = Simulator(spec, base_path="/api", fallback=reader)
                    route = ApiRoute("shop", "shop", spec, url + "/api", sim)
                    net = NetworkGuard(state, [route], dry_run=dry)
                    net.sign_in_forms.add(url + "/login")  # the runner learns it from the form
                    net.attach(context)
                results[mode] = statistics.median(_load_all(session, url, rounds))
                if reader is not None:
                    reader.close()
    base = results["plain"]
    print(f"page loads, median of {rounds * len(PAGES)} per mode (load, and /app/ pages rendered):")
    for mode, seconds in results.items():
        print(f"  {mode:14s} {seconds * 1000:8.1f} ms   {seconds / base:5.2f}x plain")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 5)
