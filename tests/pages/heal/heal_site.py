"""The demo app's saved pages served on 127.0.0.1, as they are or mutated.

``login.html``, ``pets.html``, ``edit.html`` and ``delete.html`` are the demo app's rendered
HTML (``python -m lam.sandbox.demo``), with a ``data-truth`` attribute added to every control
so a benchmark can tell which element lam acted on. The site routes the app's URLs to them
(``/login``, ``/pets``, ``/pets/N/edit``, ``/pets/N/delete``; other GETs get the pet list) and
answers every POST with a redirect to ``/pets``, like the app after a change.

``Site.mutation`` (e.g. ``"ids,wrap"`` or ``"all"``) makes every page load run ``mutate.js``
with those kinds before the page's ``load`` event: the page a replay meets has changed.
``"twins"`` (not in ``KINDS``) replaces a form's submit button by two look-alikes.
``"redesign"`` renames ids, classes and placeholders at once, wraps every control and adds or
drops a word on a few buttons and links; ``"overhaul"`` (in ``HELD_OUT``: the benchmark does
not tune on it) is another redesign (labels turned into placeholders, other ids and classes,
moved, reordered, reworded).
``Site.posts`` lists the paths POSTed to.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

__all__ = ["HELD_OUT", "HERE", "KINDS", "PAGES", "Site", "serve_site"]

HERE = Path(__file__).parent
KINDS = (
    "ids",
    "classes",
    "reorder",
    "move",
    "wrap",
    "reword",
    "decoy",
    "all",
    "redesign",
    "redesign,decoy",
)
HELD_OUT = ("overhaul", "overhaul,decoy")
PAGES = {"login": "/login", "pets": "/pets", "edit": "/pets/1/edit", "delete": "/pets/2/delete"}
_ROUTES = [
    (re.compile(r"^/login$"), "login"),
    (re.compile(r"^/pets/\d+/edit$"), "edit"),
    (re.compile(r"^/pets/\d+/delete$"), "delete"),
]


@dataclass
class Site:
    """A running site: its base URL and the mutation every page now gets."""

    url: str
    mutation: str = ""
    posts: list[str] = field(default_factory=list)


def _page_for(path: str) -> str:
    for pattern, name in _ROUTES:
        if pattern.match(path):
            return name
    return "pets"


@contextmanager
def serve_site() -> Iterator[Site]:
    """Serve the saved pages on a free port in a thread; yields the :class:`Site`."""
    pages = {name: (HERE / f"{name}.html").read_text(encoding="utf-8") for name in PAGES}
    script = (HERE / "mutate.js").read_text(encoding="utf-8")
    site = Site("")

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            path = self.path.split("?", 1)[0]
            if path == "/favicon.ico":
                self.send_response(404)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            html = pages[_page_for(path)]
            if site.mutation:
                tail = f"<script>{script}\nwindow.__lamMutate({site.mutation!r});</script>"
                html = html.replace("</body>", tail + "</body>")
            body = html.encode("utf-8")
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            self.rfile.read(length)
            site.posts.append(self.path)
            self.send_response(303)
            self.send_header("Location", "/pets")
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    site.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield site
    finally:
        server.shutdown()
        server.server_close()
