"""What the guard costs a page: the demo app's pages loaded plainly, and with every request
through lam's guard, in one run. Prints medians and ratios to the plain baseline.

Modes (each in its own browser context; rounds alternate between modes to share the noise):

- ``plain``: Playwright and Chromium, nothing of lam's;
- ``routes only``: the route handler alone (lam's guard before the egress proxy);
- ``proxy only``: Chromium launched through the run's guard proxy, no routes;
- ``live guard``: what ``lam run`` does: routes attribute, the proxy lets out on their grant;
- ``dry-run guard``: what ``lam dry-run`` does, with the sandbox answering the API;
- ``live guard, netns``: ``lam run`` in strict mode (the browser in its own network namespace,
  its only way out a relay to the proxy), where the machine allows it.

Each proxy gets its own plain baseline, loaded in the same rounds.

    .venv/bin/python benchmarks/ui_guard_bench.py [ROUNDS]
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from playwright.sync_api import Page, sync_playwright

from lam.adapters.browser.chromium import launch
from lam.egress.containment import Containment
from lam.egress.netns import strict_available
from lam.plans import AppDecl, Plan
from lam.policy import default_policy
from lam.runtime.context import RunState
from lam.runtime.kill import KillSwitch
from lam.runtime.mode import LiveMode, RunMode
from lam.runtime.network_guard import ApiRoute, NetworkGuard
from lam.runtime.record import RunRecord
from lam.runtime.sandbox_mode import LiveReader, SandboxMode
from lam.sandbox.demo.live import running
from lam.sandbox.simulator import Simulator
from lam.spec import load_spec

ROOT = Path(__file__).resolve().parents[1]
PAGES = ("/pets", "/pets/1", "/app/pets", "/app/pets/2")
MODES = ("plain", "routes only", "proxy only", "live guard", "dry-run guard", "live guard, netns")


def _state(tmp: Path, url: str, dry: bool) -> RunState:
    plan = Plan(name="bench", steps=(), apps={"shop": AppDecl("shop", url + "/", "shop")})
    record = RunRecord.create(tmp / "runs")
    mode: RunMode = SandboxMode() if dry else LiveMode()
    host = url.removeprefix("http://")
    guard = mode.guard(
        default_policy(), declared_hosts=[host], record=record, approvals=(), prompt=None
    )
    return RunState(
        plan=plan, inputs={}, outputs={}, guard=guard, record=record,
        kill=KillSwitch(record.directory, tmp), mode=mode,
        app_urls={"shop": url + "/"}, api_urls={"shop": url + "/api"},
    )  # fmt: skip


def _sign_in(page: Page, url: str) -> None:
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


def _load_pages(page: Page, url: str) -> list[float]:
    times = []
    for path in PAGES:
        started = time.perf_counter()
        page.goto(url + path, wait_until="load")
        if path.startswith("/app/"):  # rendered once its fetch() has answered
            page.wait_for_selector("#app h1")
        times.append(time.perf_counter() - started)
    return times


def _phase(
    url: str, tmp: Path, spec: Any, rounds: int, *, dry: bool, strict: bool = False
) -> dict[str, list[float]]:
    """One proxy (mitmproxy allows one per process): the plain baseline and the modes that
    use a live run's proxy, or a dry run's, or a live run's in its own network namespace."""
    modes = ("plain", "dry-run guard") if dry else MODES[:4]
    if strict:
        modes = ("plain", "live guard, netns")
    times: dict[str, list[float]] = {mode: [] for mode in modes}
    gate = Containment(
        policy=default_policy(), declared_hosts=[url.removeprefix("http://")], routes=(),
        writes=(SandboxMode if dry else LiveMode).egress, record=None, strict=strict,
    )  # fmt: skip
    gate.start()
    readers: list[LiveReader] = []
    try:
        with sync_playwright() as playwright:
            plain, contained = launch(playwright), launch(playwright, **gate.launch_options())
            pages: dict[str, Page] = {}
            for mode in modes:
                browser = plain if mode in ("plain", "routes only") else contained
                context = browser.new_context()
                if mode not in ("plain", "proxy only"):
                    state = _state(tmp, url, dry)
                    sim = None
                    if dry:
                        readers.append(LiveReader(url + "/api"))
                        sim = Simulator(spec, base_path="/api", fallback=readers[-1])
                    route = ApiRoute("shop", "shop", spec, url + "/api", sim)
                    with_proxy = gate if mode != "routes only" else None
                    net = NetworkGuard(state, [route], containment=with_proxy)
                    net.sign_in_forms.add(("", url + "/login"))  # a run learns it from the form
                    net.attach(context)
                pages[mode] = context.new_page()
                _sign_in(pages[mode], url)
            for _ in range(rounds):
                for mode in modes:
                    times[mode] += _load_pages(pages[mode], url)
            plain.close()
            contained.close()
    finally:
        gate.close()
        for reader in readers:
            reader.close()
    return times


def main(rounds: int) -> None:
    spec = load_spec(str(ROOT / "specs" / "demo.yaml"))
    with tempfile.TemporaryDirectory() as tmp, running(Path(tmp) / "shop.db") as demo:
        phases = [_phase(demo.url, Path(tmp), spec, rounds, dry=dry) for dry in (False, True)]
        if strict_available():
            phases.append(_phase(demo.url, Path(tmp), spec, rounds, dry=False, strict=True))
    print(f"page loads, median of {rounds * len(PAGES)} per mode (load, and /app/ pages rendered):")
    for times in phases:
        base = statistics.median(times["plain"])
        for mode, seconds in ((m, statistics.median(t)) for m, t in times.items()):
            print(f"  {mode:18s} {seconds * 1000:8.1f} ms   {seconds / base:5.2f}x plain")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 5)
