"""lam: let software agents act on web apps and HTTP APIs, safely.

Plans mixing UI and API steps are validated against OpenAPI specs and the operator's policy,
dry-run in a sandbox, and run live under a guard. See README.md.
"""

__version__ = "0.1.0"

__all__ = ["__version__"]
