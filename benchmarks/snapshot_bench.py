"""lam's page snapshot against Playwright's aria snapshot on a page of 5,000 interactive elements.

Run: ``python benchmarks/snapshot_bench.py [--elements N] [--repeat R]``

Both are measured in the same browser on the same page in one run; the figure that matters is
the ratio (lam / Playwright), since absolute times depend on the machine. The design target is
lam's snapshot at or under 300 ms for 5,000 elements.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

from lam.adapters.browser import BrowserSession, snapshot


def build_page(n: int) -> str:
    """A table of rows, each with a link, a button, a text field, a checkbox and a select."""
    per_row = 5
    rows = []
    for i in range(n // per_row):
        rows.append(
            f"<tr><td>Item {i}</td><td><a href='#i{i}'>Open {i}</a></td>"
            f"<td><button data-testid='del-{i}'>Delete</button></td>"
            f"<td><label for='q{i}'>Quantity {i}</label><input id='q{i}' value='{i}'></td>"
            f"<td><label><input type='checkbox'> Gift</label></td>"
            f"<td><select aria-label='Size {i}'><option>S</option><option>M</option></select>"
            "</td></tr>"
        )
    return (
        "<!doctype html><html><body><h1>Inventory</h1><table>"
        + "".join(rows)
        + "</table></body></html>"
    )


def timed(fn: Callable[[], object], repeat: int) -> tuple[float, object]:
    fn()  # warm-up: compile the script, settle layout
    times = []
    result: object = None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--elements", type=int, default=5000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    with BrowserSession(timeout_ms=60_000) as session:
        page = session.page
        page.set_content(build_page(args.elements))
        lam_ms, elements = timed(lambda: snapshot(page), args.repeat)
        aria_ms, aria = timed(lambda: page.locator("body").aria_snapshot(), args.repeat)
    count = len(elements)  # type: ignore[arg-type]
    print(f"page: {count} interactive elements found by lam (asked for {args.elements})")
    print(f"lam snapshot:        {lam_ms:8.1f} ms (median of {args.repeat})")
    print(
        f"playwright aria:     {aria_ms:8.1f} ms (median of {args.repeat}), "
        f"{len(str(aria)) // 1024} KiB of YAML"
    )
    print(f"ratio lam/aria:      {lam_ms / aria_ms:8.2f}")
    print(f"target <= 300 ms:    {'met' if lam_ms <= 300 else 'NOT met'}")


if __name__ == "__main__":
    main()
