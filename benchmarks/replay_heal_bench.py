"""Replays that heal: a recording made on the demo app's pages, replayed on mutated copies.

    .venv/bin/python benchmarks/replay_heal_bench.py [--timeout-ms 1000] [--kinds ids,wrap]

1. Serves the demo app's saved pages (tests/pages/heal/) on 127.0.0.1 and records a 20-step
   flow on them with ``lam.record`` (login, filter the pet list, open links, edit a pet, delete
   one), as a person would.
2. Replays the recording's targets on the unchanged pages: the element each step acts on
   (its ``data-truth`` attribute, which lam never reads) is the ground truth.
3. For each mutation kind (ids renamed, classes renamed, siblings reordered, elements moved,
   controls wrapped, labels reworded, a decoy with similar text beside every control, and all
   of them at once) the pages are served mutated and every step's target is resolved with
   ``resolve_target`` — locators, then fingerprint healing — and the step performed.
   A step is *correct* when lam resolved the true element, a *wrong click* when it resolved
   another one, *refused* when it raised a GroundingError. After a wrong or refused step the
   flow goes on with the true element, so every step is measured.

The baseline, measured in the same run, is the same replay without fingerprints (locators and
candidates only): what a replay without healing would do.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from playwright.sync_api import Locator, Page, sync_playwright

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests" / "pages" / "heal"))

import heal_site  # noqa: E402

import lam  # noqa: E402
from lam.adapters.browser.chromium import launch  # noqa: E402
from lam.adapters.browser.locators import resolve_target  # noqa: E402
from lam.errors import GroundingError  # noqa: E402

ACTIONS = ("click", "fill", "select", "check", "uncheck")


def drive(page: Page) -> None:
    """The benchmark's flow as a plain Playwright script (recorded; timed as a baseline)."""
    page.get_by_label("Username").fill("admin")
    page.get_by_label("Password").fill("admin-pass")
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url("**/pets")
    page.get_by_label("Status").select_option("available")
    page.get_by_role("button", name="Filter").click()
    page.wait_for_url("**/pets?status=available")
    page.get_by_role("link", name="Add a pet").click()
    page.wait_for_url("**/pets/new")
    page.get_by_role("link", name="Orders").click()
    page.wait_for_url("**/orders")
    page.get_by_role("link", name="Rex", exact=True).click()
    page.wait_for_url("**/pets/1")
    page.get_by_role("button", name="Edit Bella").click()
    page.wait_for_url("**/pets/2/edit*")
    page.get_by_label("Name").fill("Bella Rose")
    page.get_by_label("Species").select_option("rabbit")
    page.get_by_label("Status").select_option("pending")
    page.get_by_label("Vaccinated").uncheck()
    page.get_by_label("Notes").fill("Shy at first.")
    page.get_by_role("button", name="Save").click()
    page.wait_for_url("**/pets")
    page.get_by_role("button", name="Delete Milo").click()
    page.wait_for_url("**/pets/3/delete*")
    page.get_by_role("link", name="No, take me back").click()
    page.wait_for_url("**/pets/1")
    page.get_by_role("button", name="Delete Luna").click()
    page.wait_for_url("**/pets/4/delete*")
    page.get_by_role("button", name="Yes, delete").click()
    page.wait_for_url("**/pets")
    page.get_by_role("button", name="Log out").click()
    page.wait_for_url("**/pets")


def record_flow(url: str, out: Path) -> dict[str, Any]:
    """Record the benchmark's flow on the unchanged site; returns the plan document."""
    with lam.record(url + "/login", out=out) as page:
        drive(page)
    document: dict[str, Any] = yaml.safe_load(out.read_text(encoding="utf-8"))
    return document


def _strip(target: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in target.items() if k != "fingerprint"}


def _act(locator: Locator, action: str, value: Any) -> None:
    if action == "click":
        locator.click()
    elif action == "fill":
        locator.fill("admin-pass" if str(value).startswith("$secrets.") else str(value))
    elif action == "select":
        locator.select_option(str(value))
    elif action == "check":
        locator.check()
    elif action == "uncheck":
        locator.uncheck()
    locator.page.wait_for_load_state("load")


def _truth(locator: Locator) -> str | None:
    return locator.get_attribute("data-truth", timeout=1_000)


@dataclass
class Tally:
    """Outcomes of one replay of the recording."""

    correct: int = 0
    healed: int = 0
    wrong: int = 0
    refused: int = 0
    notes: list[str] = field(default_factory=list)

    @property
    def steps(self) -> int:
        return self.correct + self.wrong + self.refused


def replay(
    page: Page,
    document: Mapping[str, Any],
    base: str,
    truths: list[str | None] | None,
    *,
    heal: bool,
    timeout_ms: float,
) -> tuple[Tally, list[str | None]]:
    """Resolve and perform every step; compare with ``truths`` (None: record them)."""
    tally = Tally()
    seen: list[str | None] = []
    for step in document["steps"]:
        if "goto" in step:
            page.goto(base + str(step["goto"]).removeprefix("app:"))
            continue
        action = next(a for a in ACTIONS if a in step)
        target = step[action] if heal else _strip(step[action])
        expected = truths[len(seen)] if truths is not None else None
        try:
            resolved = resolve_target(page, target, timeout_ms=timeout_ms, step=step["id"])
            got = _truth(resolved.locator)
        except GroundingError as exc:
            got = None
            tally.refused += 1
            tally.notes.append(f"refused {step['id']}: {exc.message}")
        else:
            if truths is None or got == expected:
                tally.correct += 1
                tally.healed += resolved.how == "healed"
            else:
                tally.wrong += 1
                tally.notes.append(f"WRONG {step['id']}: {got} instead of {expected}")
        seen.append(got)
        if truths is not None and got != expected:
            true_el = page.locator(f'[data-truth="{expected}"]')
            _act(true_el, action, step.get("value"))
        else:
            _act(resolved.locator, action, step.get("value"))
    return tally, seen


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--timeout-ms", type=float, default=1_000.0)
    parser.add_argument("--kinds", default=",".join(heal_site.KINDS))
    parser.add_argument("--verbose", action="store_true", help="list every wrong or refused step")
    args = parser.parse_args()
    with heal_site.serve_site() as site, tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        document = record_flow(site.url, Path(tmp) / "flow.yaml")
        targets = sum(1 for s in document["steps"] if any(a in s for a in ACTIONS))
        print(f"recorded {targets} target steps in {time.perf_counter() - started:.1f} s")
        with sync_playwright() as pw:
            browser = launch(pw)
            page = browser.new_page()
            page.set_default_timeout(5_000)
            clean, truths = replay(page, document, site.url, None, heal=True, timeout_ms=2_000)
            assert clean.refused == 0 and None not in truths, clean.notes
            rows = []
            totals = {True: Tally(), False: Tally()}
            for kind in args.kinds.split(","):
                site.mutation = kind
                row: dict[bool, Tally] = {}
                for heal in (False, True):
                    tally, _ = replay(
                        page, document, site.url, truths, heal=heal, timeout_ms=args.timeout_ms
                    )
                    row[heal] = tally
                    total = totals[heal]
                    total.correct += tally.correct
                    total.healed += tally.healed
                    total.wrong += tally.wrong
                    total.refused += tally.refused
                    if args.verbose and heal:
                        for note in tally.notes:
                            print(f"  [{kind}] {note}")
                rows.append((kind, row))
            browser.close()
    print(f"\n{'mutation':<10} {'steps':>5}  {'healing: ok (healed) wrong refused':<36}"
          f"{'no healing: ok wrong refused'}")  # fmt: skip
    for kind, row in rows:
        h, b = row[True], row[False]
        print(f"{kind:<10} {h.steps:>5}  {h.correct:>11} ({h.healed:>3}) {h.wrong:>5} "
              f"{h.refused:>7}        {b.correct:>14} {b.wrong:>5} {b.refused:>7}")  # fmt: skip
    h, b = totals[True], totals[False]
    share_h, share_b = h.correct / h.steps, b.correct / b.steps
    print(f"{'total':<10} {h.steps:>5}  {h.correct:>11} ({h.healed:>3}) {h.wrong:>5} "
          f"{h.refused:>7}        {b.correct:>14} {b.wrong:>5} {b.refused:>7}")  # fmt: skip
    print(f"\ncorrect with healing {share_h:.1%}, wrong clicks {h.wrong}, refused {h.refused}")
    print(f"correct without healing (baseline) {share_b:.1%}, wrong clicks {b.wrong}")
    print(f"ratio correct healing/baseline: {share_h / share_b:.2f}x" if share_b else "")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
