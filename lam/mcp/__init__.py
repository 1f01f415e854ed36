"""``lam mcp``: lam as an MCP server, so any agent's tool calls meet lam's guard.

The tools (:mod:`lam.mcp.tools`) carry Playwright MCP's names and argument shapes; each call
becomes a step of one :class:`lam.Session` (:mod:`lam.mcp.calls`), validated, guarded and
recorded as ``lam run`` does; :mod:`lam.mcp.server` speaks MCP over stdio or streamable HTTP;
:mod:`lam.mcp.approvals` is the operator's out-of-band channel (``lam approve``). See
docs/mcp.md.

Nothing is imported until used: ``import lam.mcp`` loads neither the SDK nor Playwright.
"""

from __future__ import annotations

__all__: list[str] = []
