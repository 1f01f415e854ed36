"""lam: let software agents act on web apps and HTTP APIs, safely.

Plans mixing UI and API steps are validated against OpenAPI specs and the operator's policy,
dry-run in a sandbox, and run live under a guard. See README.md.
"""

__version__ = "0.1.0"

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from lam.recording import record

__all__ = ["__version__", "record"]


def __getattr__(name: str) -> Any:
    # lam.recording imports Playwright: load it only when asked for, not at ``import lam``.
    if name == "record":
        from lam.recording import record

        return record
    raise AttributeError(f"module 'lam' has no attribute {name!r}")
