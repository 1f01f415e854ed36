"""lam: let software agents act on web apps and HTTP APIs, safely.

Plans mixing UI and API steps are validated against OpenAPI specs and the operator's policy,
dry-run in a sandbox, and run live under a guard. See README.md, and docs/python.md for this
Python API::

    import lam

    with lam.Session(apps={"shop": "http://127.0.0.1:8321/"}) as session:
        session.act({"goto": "shop:/"})
        print(session.observe().text())

Nothing is imported until it is used: ``import lam`` loads neither Playwright nor the specs.
"""

from __future__ import annotations

__version__ = "0.1.0"

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from lam.errors import LamError
    from lam.hands import ActResult, ActStatus, Session
    from lam.page_refs import PageSnapshot
    from lam.recording import record

__all__ = [
    "ActResult",
    "ActStatus",
    "LamError",
    "PageSnapshot",
    "Session",
    "__version__",
    "record",
]

_LAZY = {
    "ActResult": "lam.hands",
    "ActStatus": "lam.hands",
    "Session": "lam.hands",
    "PageSnapshot": "lam.page_refs",
    "LamError": "lam.errors",
    # lam.recording imports Playwright: loaded only when asked for, not at ``import lam``
    "record": "lam.recording",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'lam' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(module), name)
