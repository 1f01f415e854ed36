"""lam: let software agents act on web apps and HTTP APIs, safely.

Plans mixing UI and API steps are validated against OpenAPI specs and the operator's policy,
dry-run in a sandbox, and run live under a guard. See README.md, and docs/python.md for this
Python API::

    import lam

    report = lam.validate("plan.yaml")          # a ValidationReport
    result = lam.dry_run("plan.yaml")           # a RunResult: the effects held in the sandbox
    with lam.Session(apps={"shop": "http://127.0.0.1:8321/"}) as session:
        session.act({"goto": "shop:/"})
        print(session.observe().text())

Nothing is imported until it is used: ``import lam`` loads neither Playwright nor the specs.
The modules behind these names are :mod:`lam.plans`, :mod:`lam.validation`, :mod:`lam.runtime`
and :mod:`lam.replayer`, so ``lam.run`` and its like are always the functions.
"""

from __future__ import annotations

__version__ = "0.1.0"

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from lam.errors import LamError
    from lam.facade import (
        CannotPlanError,
        Hooks,
        InvalidPlanError,
        dry_run,
        plan,
        replay,
        run,
        validate,
    )
    from lam.hands import ActResult, ActStatus, Session
    from lam.page_refs import PageSnapshot
    from lam.planning import PlannedPlan
    from lam.recording import record

__all__ = [
    "ActResult",
    "ActStatus",
    "CannotPlanError",
    "Hooks",
    "InvalidPlanError",
    "LamError",
    "PageSnapshot",
    "PlannedPlan",
    "Session",
    "__version__",
    "dry_run",
    "plan",
    "record",
    "replay",
    "run",
    "validate",
]

_LAZY = {
    "ActResult": "lam.hands",
    "ActStatus": "lam.hands",
    "Session": "lam.hands",
    "PageSnapshot": "lam.page_refs",
    "LamError": "lam.errors",
    "Hooks": "lam.facade",
    "InvalidPlanError": "lam.facade",
    "CannotPlanError": "lam.facade",
    "PlannedPlan": "lam.planning",
    "dry_run": "lam.facade",
    "plan": "lam.facade",
    "replay": "lam.facade",
    "run": "lam.facade",
    "validate": "lam.facade",
    # lam.recording imports Playwright: loaded only when asked for, not at ``import lam``
    "record": "lam.recording",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'lam' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(module), name)
