"""The tools ``lam mcp`` offers: names, descriptions and argument schemas.

The browser tools carry Playwright MCP's names and argument shapes (as ``@playwright/mcp``
0.0.83 lists them in ``tools/list``), so an agent that knows one server knows the other. Where
Playwright MCP takes an element, lam takes ``element`` (the human description) and ``ref`` (the
``[ref=eN]`` of a snapshot); ``target``, the name Playwright MCP 0.0.83 gives the same
reference, is accepted as well. The API and plan tools are lam's own.

The schemas are the contract: the MCP SDK checks every call's arguments against them before a
tool runs, and a call that breaks them is an error result naming the first problem.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import mcp.types as types

__all__ = ["BROWSER_TOOLS", "MAX_ARGUMENT_BYTES", "PLAN_TOOLS", "TOOLS", "tool_list"]

MAX_ARGUMENT_BYTES = 1_000_000
"""A call whose arguments are larger (as JSON) is refused before any tool runs: no step or
plan a person can review is this big (plans are capped at 8 MiB as files; an inline plan sent
through a tool is held to this)."""

_REF = {"type": "string", "description": "The element's reference from the page snapshot (e3)"}
_TARGET = {"type": "string", "description": "Same as ref (Playwright MCP 0.0.83's name for it)"}
_ELEMENT = {
    "type": "string",
    "description": "Human-readable element description, shown to the person who approves",
}
_ONE_OF_REFS = [{"required": ["ref"]}, {"required": ["target"]}]


def _element_tool(extra: Mapping[str, Any], required: tuple[str, ...] = ()) -> dict[str, Any]:
    """The schema of a tool that acts on one element of the last snapshot."""
    return {
        "type": "object",
        "properties": {"element": _ELEMENT, "ref": _REF, "target": _TARGET, **extra},
        "required": list(required),
        "anyOf": _ONE_OF_REFS,
        "additionalProperties": False,
    }


def _object(properties: Mapping[str, Any], required: tuple[str, ...] = ()) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": dict(properties),
        "required": list(required),
        "additionalProperties": False,
    }


_PLAN = {
    "description": "A lam plan: the document itself (an object) or a path to a plan file",
    "anyOf": [{"type": "object"}, {"type": "string", "maxLength": 4096}],
}
_INPUTS = {"type": "object", "description": "Values for the plan's inputs, by name"}

BROWSER_TOOLS: dict[str, tuple[str, dict[str, Any], bool]] = {
    # name: (description, input schema, read only)
    "browser_navigate": (
        "Navigate to a URL (one of the session's apps; other hosts are refused by the guard)",
        _object({"url": {"type": "string", "description": "The URL to navigate to"}}, ("url",)),
        False,
    ),
    "browser_snapshot": (
        "The page as text: each element one can act on carries [ref=eN] for the other tools",
        _object({}),
        True,
    ),
    "browser_click": (
        "Click an element of the last snapshot (held for a person's approval when destructive)",
        _element_tool(
            {
                "doubleClick": {"type": "boolean", "description": "Double click"},
                "button": {"type": "string", "enum": ["left", "right", "middle"]},
                "modifiers": {
                    "type": "array",
                    "items": {
                        "type": "string",
                        "enum": ["Alt", "Control", "ControlOrMeta", "Meta", "Shift"],
                    },
                },
            }
        ),
        False,
    ),
    "browser_type": (
        "Type text into an editable element of the last snapshot",
        _element_tool(
            {
                "text": {"type": "string", "description": "Text to type into the element"},
                "submit": {"type": "boolean", "description": "Press Enter after typing"},
                "slowly": {"type": "boolean", "description": "Type one character at a time"},
            },
            ("text",),
        ),
        False,
    ),
    "browser_select_option": (
        "Select options in a dropdown of the last snapshot",
        _element_tool(
            {"values": {"type": "array", "items": {"type": "string"}, "minItems": 1}},
            ("values",),
        ),
        False,
    ),
    "browser_press_key": (
        "Press a key on the keyboard (ArrowLeft, Enter, a)",
        _object({"key": {"type": "string", "minLength": 1, "maxLength": 40}}, ("key",)),
        False,
    ),
    "browser_hover": ("Hover over an element of the last snapshot", _element_tool({}), False),
    "browser_wait_for": (
        "Wait for text to appear or disappear, or for some seconds (at most 30)",
        _object(
            {
                "time": {"type": "number", "minimum": 0, "maximum": 30},
                "text": {"type": "string"},
                "textGone": {"type": "string"},
            }
        ),
        True,
    ),
    "browser_navigate_back": ("Go back to the previous page", _object({}), False),
    "browser_take_screenshot": (
        "A screenshot of the page (PNG), for a person to look at; act through browser_snapshot",
        _object(
            {
                "element": _ELEMENT,
                "ref": _REF,
                "target": _TARGET,
                "type": {"type": "string", "enum": ["png", "jpeg"]},
                "filename": {"type": "string"},
                "fullPage": {"type": "boolean"},
                "scale": {"type": "string", "enum": ["css", "device"]},
            }
        ),
        True,
    ),
    "browser_tabs": (
        "List the browser's tabs (a lam session has one tab; new, close and select are refused)",
        _object(
            {
                "action": {"type": "string", "enum": ["list", "new", "close", "select"]},
                "index": {"type": "number"},
                "url": {"type": "string"},
            },
            ("action",),
        ),
        True,
    ),
}

API_TOOLS: dict[str, tuple[str, dict[str, Any], bool]] = {
    "api_operations": (
        "The operations of the session's APIs with their risk classes (read, write, "
        "destructive) and the policy's verdict; filter by api, risk or words",
        _object(
            {
                "api": {"type": "string"},
                "risk": {"type": "string", "enum": ["read", "write", "destructive"]},
                "query": {"type": "string", "maxLength": 200},
            }
        ),
        True,
    ),
    "api_call": (
        "Call an operation of one of the session's APIs. The call is checked against the spec "
        "first (nothing is sent when it breaks it) and guarded like any lam step",
        {
            "type": "object",
            "properties": {
                "api": {"type": "string"},
                "operation": {"type": "string", "description": "The operationId"},
                "method": {"type": "string"},
                "path": {"type": "string", "description": "The spec's path, e.g. /pets/{id}"},
                "params": {"type": "object"},
                "body": {"description": "The request body (JSON)"},
            },
            "required": ["api"],
            "anyOf": [{"required": ["operation"]}, {"required": ["method", "path"]}],
            "additionalProperties": False,
        },
        False,
    ),
}

PLAN_TOOLS: dict[str, tuple[str, dict[str, Any], bool]] = {
    "plan_validate": (
        "Validate a lam plan against its specs and the operator's policy (nothing runs)",
        _object({"plan": _PLAN}, ("plan",)),
        True,
    ),
    "plan_dry_run": (
        "Run a lam plan in the sandbox: no effect on real systems; the effects it would have",
        _object({"plan": _PLAN, "inputs": _INPUTS}, ("plan",)),
        True,
    ),
    "plan_run": (
        "Run a lam plan live under the guard; a step that needs approval is asked of the person "
        "(or held for `lam approve`)",
        _object({"plan": _PLAN, "inputs": _INPUTS}, ("plan",)),
        False,
    ),
    "session_plan": (
        "What this session has done so far, as a lam plan that `lam run` or `lam replay` "
        "can run again",
        _object({}),
        True,
    ),
}

TOOLS: dict[str, tuple[str, dict[str, Any], bool]] = {**BROWSER_TOOLS, **API_TOOLS, **PLAN_TOOLS}


def tool_list(*, browser: bool = True, api: bool = True) -> list[types.Tool]:
    """The tools as MCP lists them (the browser tools only with an app, the API tools only
    with an API: a tool that can only fail is not offered)."""
    chosen = {**(BROWSER_TOOLS if browser else {}), **(API_TOOLS if api else {}), **PLAN_TOOLS}
    return [
        types.Tool(
            name=name,
            description=description,
            inputSchema=schema,
            annotations=types.ToolAnnotations(readOnlyHint=read_only, openWorldHint=True),
        )
        for name, (description, schema, read_only) in chosen.items()
    ]
