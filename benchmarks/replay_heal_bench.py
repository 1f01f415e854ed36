"""Replays that heal: a recording made on the demo app's pages, replayed on mutated copies.

    .venv/bin/python benchmarks/replay_heal_bench.py [--timeout-ms 1000] [--kinds "ids;wrap,move"]

1. Serves the demo app's saved pages (tests/pages/heal/) on 127.0.0.1 and records a 22-step
   flow on them with ``lam.record`` (login, filter and search the pet list, open links, edit a
   pet, delete one), as a person would.
2. Replays the recording's targets on the unchanged pages: the element each step acts on
   (its ``data-truth`` attribute, which lam never reads) is the ground truth.
3. For each mutation kind (ids renamed, classes renamed, siblings reordered, elements moved,
   controls wrapped, labels reworded, a decoy with similar text beside every control, all of
   them at once, a redesign, a redesign with decoys) the pages are served mutated and every step's target is resolved with
   ``resolve_target`` — locators, then fingerprint healing — and the step performed.
   A step is *correct* when lam resolved the true element, a *wrong click* when it resolved
   another one, *refused* when it raised a GroundingError. After a wrong or refused step the
   flow goes on with the true element, so every step is measured.

The ``redesign`` rows are what the weights were calibrated on; the ``overhaul`` rows (another
redesign: labels turned into placeholders, other ids and classes, moved and reworded) are held
out and marked ``*``: they were written before the calibration and not tuned on.

The baseline, measured in the same run, is the same replay without fingerprints (locators and
candidates only): what a replay without healing would do.
"""

from __future__ import annotations

import argparse
import dataclasses
import itertools
import json
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
from lam.adapters.browser import healing, locators  # noqa: E402
from lam.adapters.browser.chromium import launch  # noqa: E402
from lam.adapters.browser.locators import resolve_target  # noqa: E402
from lam.adapters.browser.snapshot import ElementInfo, snapshot  # noqa: E402
from lam.errors import GroundingError  # noqa: E402

ACTIONS = ("click", "fill", "select", "check", "uncheck")
_TRUTHS_JS = """(paths) => paths.map((css) => {
  try { const el = document.querySelector(css); return el && el.getAttribute("data-truth"); }
  catch (e) { return null; }
})"""


@dataclass
class Cases:
    """Every call to healing in the replays with healing (``--dump``): what it was given and
    which element was the true one, so weights and thresholds can be tried offline."""

    kind: str = ""
    step: str = ""
    expected: str | None = None
    seen: list[dict[str, Any]] = field(default_factory=list)

    def install(self) -> None:
        original = getattr(locators, "heal")  # noqa: B009 (resolve_target's own reference)

        def heal(page: Page, fingerprint: Mapping[str, Any], **kw: Any) -> healing.Healing:
            elements = snapshot(page)
            extras = healing.extras_of(page, elements)
            truths = page.evaluate(_TRUTHS_JS, [el.css for el in elements])
            self.seen.append({
                "kind": self.kind, "step": self.step, "expected": self.expected,
                "fingerprint": dict(fingerprint),
                "elements": [dataclasses.asdict(el) for el in elements],
                "extras": {str(i): dataclasses.asdict(x) for i, x in extras.items()},
                "truths": truths,
            })  # fmt: skip
            chosen: healing.Healing = original(page, fingerprint, **kw)
            return chosen

        setattr(locators, "heal", heal)  # noqa: B010


def drive(page: Page) -> None:
    """The benchmark's flow as a plain Playwright script (recorded; timed as a baseline)."""
    page.get_by_label("Username").fill("admin")
    page.get_by_label("Password").fill("admin-pass")
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url("**/pets")
    page.get_by_label("Status").select_option("available")
    page.get_by_role("button", name="Filter").click()
    page.wait_for_url("**/pets?status=available")
    page.get_by_placeholder("Search pets").fill("Rex")
    page.get_by_role("button", name="Search").click()
    page.wait_for_url("**/pets/search?q=Rex")
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
        if CASES is not None and heal and truths is not None:
            CASES.step, CASES.expected = str(step["id"]), expected
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


CASES: Cases | None = None


def _element(raw: Mapping[str, Any]) -> ElementInfo:
    values = dict(raw)
    for key in ("frame", "shadow", "context"):
        values[key] = tuple(values.get(key) or ())
    if values.get("box") is not None:
        values["box"] = tuple(values["box"])
    return ElementInfo(**values)


def _outcomes(cases: list[dict[str, Any]], threshold: float, margin: float) -> dict[bool, Tally]:
    """Each dumped heal decided again with the current WEIGHTS: held-out (True) or tuned."""
    found = {True: Tally(), False: Tally()}
    for case in cases:
        elements = [_element(e) for e in case["elements"]]
        extras = {int(i): healing.Extras(**x) for i, x in case["extras"].items()}
        truth = {el.index: t for el, t in zip(elements, case["truths"], strict=True)}
        tally = found[case["kind"] in heal_site.HELD_OUT]
        try:
            chosen = healing.choose(
                case["fingerprint"], elements, extras, threshold=threshold, margin=margin
            )
        except GroundingError:
            tally.refused += 1
            continue
        if truth[chosen.best.element.index] == case["expected"]:
            tally.correct += 1
        else:
            tally.wrong += 1
            tally.notes.append(f"{case['kind']} {case['step']}")
    return found


def calibrate(path: Path) -> None:
    """Try weights, threshold and margin on dumped heals; print the best with 0 wrong."""
    cases = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    base = dict(healing.WEIGHTS)
    results = []
    grid = itertools.product(
        (0.0, 0.5, 1.0, 2.0),  # place
        (0.5, 1.0),  # id (a redesign renames ids: Similo counts them among the stable)
        (0.5, 1.0),  # placeholder
        (0.45, 0.5, 0.55, 0.6),  # threshold
        (0.05, 0.08, 0.12),  # margin
    )
    for place, id_, placeholder, threshold, margin in grid:
        healing.WEIGHTS = {**base, "place": place, "id": id_, "placeholder": placeholder}  # type: ignore[misc]
        got = _outcomes(cases, threshold=threshold, margin=margin)
        results.append(((place, id_, placeholder, threshold, margin), got))
    healing.WEIGHTS = base  # type: ignore[misc]
    current = (base["place"], base["id"], base["placeholder"], healing.THRESHOLD, healing.MARGIN)
    print(f"\n{len(cases)} heals dumped; place, id, placeholder weights, threshold, margin:")
    print(f"{'configuration':<32} tuned ok/wrong/refused   held-out ok/wrong/refused")
    safe = [r for r in results if r[1][False].wrong == 0]
    safe.sort(key=lambda r: (-r[1][False].correct, r[0] != current, -r[0][4], -r[0][3]))
    shown = [r for r in results if r[0] == current] + safe[:8]
    for config, got in shown:
        t, h = got[False], got[True]
        mark = " (current)" if config == current else ""
        print(f"{str(config) + mark:<32} {t.correct:>5}/{t.wrong}/{t.refused:<14}"
              f"{h.correct:>5}/{h.wrong}/{h.refused}")  # fmt: skip
    wrong_any = sum(1 for _, got in results if got[False].wrong or got[True].wrong)
    print(f"configurations with a wrong action (tuned or held-out): {wrong_any} of {len(results)}")


def _line(kind: str, h: Tally, b: Tally) -> None:
    print(f"{kind:<16} {h.steps:>5}  {h.correct:>11} ({h.healed:>3}) {h.wrong:>5} "
          f"{h.refused:>7}        {b.correct:>14} {b.wrong:>5} {b.refused:>7}")  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--timeout-ms", type=float, default=1_000.0)
    parser.add_argument(
        "--kinds",
        default=";".join((*heal_site.KINDS, *heal_site.HELD_OUT)),
        help="mutations to replay on, ';' between rows, ',' to combine kinds in one row",
    )
    parser.add_argument("--verbose", action="store_true", help="list every wrong or refused step")
    parser.add_argument("--dump", type=Path, help="write every heal (JSON lines) for --calibrate")
    parser.add_argument("--calibrate", type=Path, help="try weights on a --dump file; no replay")
    args = parser.parse_args()
    if args.calibrate:
        calibrate(args.calibrate)
        return 0
    global CASES
    if args.dump:
        CASES = Cases()
        CASES.install()
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
            held = {True: Tally(), False: Tally()}
            for kind in args.kinds.split(";"):
                site.mutation = kind
                if CASES is not None:
                    CASES.kind = kind
                row: dict[bool, Tally] = {}
                for heal in (False, True):
                    tally, _ = replay(
                        page, document, site.url, truths, heal=heal, timeout_ms=args.timeout_ms
                    )
                    row[heal] = tally
                    total = held[heal] if kind in heal_site.HELD_OUT else totals[heal]
                    total.correct += tally.correct
                    total.healed += tally.healed
                    total.wrong += tally.wrong
                    total.refused += tally.refused
                    if args.verbose and heal:
                        for note in tally.notes:
                            print(f"  [{kind}] {note}")
                rows.append((kind, row))
            browser.close()
    if CASES is not None:
        args.dump.write_text("".join(json.dumps(c) + "\n" for c in CASES.seen), encoding="utf-8")
    print(f"\n{'mutation':<16} {'steps':>5}  {'healing: ok (healed) wrong refused':<36}"
          f"{'no healing: ok wrong refused'}")  # fmt: skip
    for kind, row in rows:
        mark = " *" if kind in heal_site.HELD_OUT else ""
        _line(kind + mark, row[True], row[False])
    _line("total tuned", totals[True], totals[False])
    if held[True].steps:
        _line("total held-out*", held[True], held[False])
    print("(* held out: not tuned on)")
    for name, (h, b) in (("tuned", (totals[True], totals[False])),
                         ("held-out", (held[True], held[False]))):  # fmt: skip
        if not h.steps:
            continue
        print(f"\n{name}: correct with healing {h.correct / h.steps:.1%}, wrong clicks {h.wrong}, "
              f"refused {h.refused}; without healing {b.correct / b.steps:.1%}, "
              f"wrong clicks {b.wrong}")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
