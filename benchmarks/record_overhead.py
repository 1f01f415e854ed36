"""What recording costs: the same actions driven with and without the recorder.

    python benchmarks/record_overhead.py [--rows 1000] [--actions 40]

A page with ROWS table rows (a text field and an Edit button each) is served from 127.0.0.1;
ACTIONS fills and clicks run once in a plain Chromium context (the baseline) and once under
``lam.record``, in the same run. The recorder describes each acted-on element and counts how
many elements each of its locators matches, so its cost grows with the page. Printed: the
median time per action for each, and their ratio.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from playwright.sync_api import Page

import lam
from lam.adapters.browser import BrowserSession


def page_html(rows: int) -> bytes:
    body = "".join(
        f'<tr><td>Pet {i}</td><td><input aria-label="Name {i}" value="Pet {i}"></td>'
        f'<td><button type="button">Edit</button></td></tr>'
        for i in range(rows)
    )
    return f"<!doctype html><title>Rows</title><table>{body}</table>".encode()


def serve(html: bytes) -> tuple[str, Callable[[], None]]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.end_headers()
            self.wfile.write(html)

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return f"http://127.0.0.1:{server.server_address[1]}/", server.shutdown


def drive(page: Page, actions: int, rows: int) -> list[float]:
    times = []
    for n in range(actions):
        row = (n * 37) % rows
        start = time.perf_counter()
        if n % 2:
            page.get_by_role("button", name="Edit").nth(row).click()
        else:
            field = page.get_by_label(f"Name {row}", exact=True)
            field.fill(f"Renamed {n}")
            field.press("Tab")
        times.append(time.perf_counter() - start)
    page.evaluate("() => new Promise((r) => setTimeout(r, 50))")
    return times


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1000)
    parser.add_argument("--actions", type=int, default=40)
    args = parser.parse_args()
    url, stop = serve(page_html(args.rows))
    try:
        with BrowserSession() as session:
            session.page.goto(url)
            baseline = drive(session.page, args.actions, args.rows)
        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp) / "bench.yaml"
            with lam.record(url, out=out) as page:
                recorded = drive(page, args.actions, args.rows)
            steps = out.read_text().count("\n- id: ")
    finally:
        stop()
    base_ms = statistics.median(baseline) * 1000
    rec_ms = statistics.median(recorded) * 1000
    print(f"page: {args.rows} rows, {args.actions} actions; recording has {steps} steps")
    print(f"plain Playwright : {base_ms:7.1f} ms per action (median)")
    print(f"under lam.record : {rec_ms:7.1f} ms per action (median)")
    print(f"ratio            : {rec_ms / base_ms:7.2f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
