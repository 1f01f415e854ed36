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
"""

from __future__ import annotations

__version__ = "0.1.0"

import sys
import types
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from lam.errors import LamError
    from lam.facade import CannotPlanError, Hooks, InvalidPlanError, dry_run, replay, run, validate
    from lam.facade import plan as plan
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
    # lam.recording imports Playwright: loaded only when asked for, not at ``import lam``
    "record": "lam.recording",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'lam' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(module), name)


class _Function:
    """``lam.run`` and its like: the function of :mod:`lam.facade`, callable, and for attribute
    access the module of the same name (``lam.run.record`` is still the run record module)."""

    def __init__(self, name: str, module: str) -> None:
        import functools
        import importlib

        functools.update_wrapper(self, getattr(importlib.import_module("lam.facade"), name))
        self._module = module

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.__wrapped__(*args, **kwargs)  # type: ignore[attr-defined]

    def __getattr__(self, name: str) -> Any:
        import importlib

        return getattr(importlib.import_module(self._module), name)

    def __repr__(self) -> str:
        return f"<function lam.{self.__name__}>"  # type: ignore[attr-defined]


def _entry(name: str) -> property:
    """A property of the ``lam`` module for a function named like one of lam's modules:
    importing ``lam/run/`` sets ``lam.run`` to the package, and the setter puts it aside so
    that ``lam.run`` stays the function (``from lam.run.record import RunRecord`` goes by
    ``sys.modules`` and is unaffected)."""

    def get(module: types.ModuleType) -> _Function:
        found = module.__dict__.get(f"_{name}_function")
        if found is None:
            found = module.__dict__[f"_{name}_function"] = _Function(name, f"lam.{name}")
        return found

    def put(module: types.ModuleType, value: Any) -> None:
        module.__dict__[f"_{name}_module"] = value

    return property(get, put)


class _Lam(types.ModuleType):
    plan = _entry("plan")
    run = _entry("run")
    validate = _entry("validate")
    replay = _entry("replay")


sys.modules[__name__].__class__ = _Lam
