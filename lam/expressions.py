"""Runtime expressions in the OpenAPI Arazzo syntax.

A whole value ``$inputs.name`` is an :class:`Expression`; a string with ``{$...}`` parts inside
is a :class:`Template`. Both are parsed when the plan is loaded, checked by the validator
(unknown input, later step, unknown output) and resolved by the runner against a
:class:`Context`.

Supported sources::

    $inputs.<name>[#/pointer]              $steps.<id>.outputs.<name>[#/pointer]
    $response.body[#/pointer]              $response.header.<name>
    $statusCode                            $secrets.<NAME>
    $url  $method                          (the request just sent)

A mission (:mod:`lam.mission`) also reads ``$workflows.<task>.outputs.<name>[#/pointer]``,
another task's outputs; only with ``workflows=True``, so a plan that names one is refused when
it is loaded, as any unknown source is.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from lam import json_pointer

__all__ = [
    "MAX_RESOLVED_CHARS",
    "Context",
    "Expression",
    "ExpressionError",
    "Template",
    "as_text",
    "parse_value",
    "resolve_pointer",
    "resolve_value",
    "walk_expressions",
]

_NAME = r"[A-Za-z0-9_.\-]+"
_EXPR = re.compile(
    rf"""^\$(?:
        (?P<inputs>inputs)\.(?P<input>[A-Za-z0-9_\-]+)
      | (?P<steps>steps)\.(?P<step>[A-Za-z0-9_\-]+)\.outputs\.(?P<output>[A-Za-z0-9_\-]+)
      | (?P<workflows>workflows)\.(?P<task>[A-Za-z0-9_\-]+)\.outputs\.(?P<toutput>[A-Za-z0-9_\-]+)
      | (?P<secrets>secrets)\.(?P<secret>[A-Za-z0-9_\-]+)
      | (?P<body>response\.body)
      | (?P<rheader>response\.header)\.(?P<header>{_NAME})
      | (?P<status>statusCode)
      | (?P<url>url)
      | (?P<method>method)
    )(?P<pointer>\#/[^\s{{}}]*|\#)?$""",
    re.VERBOSE,
)
_TEMPLATE_PART = re.compile(r"\{(\$[^{}]+)\}")


class ExpressionError(ValueError):
    """An expression that is malformed or cannot be resolved; the message says which."""


@dataclass(frozen=True)
class Expression:
    """One runtime expression, e.g. ``$steps.find.outputs.pet_id``."""

    text: str
    source: str  # inputs | steps | workflows | secrets | response.body | response.header | ...
    name: str | None = None  # input name, output name, secret name or header name
    step: str | None = None  # the step for $steps, the mission task for $workflows
    pointer: str | None = None  # JSON pointer after '#', e.g. "/0/id"

    @classmethod
    def parse(cls, text: str, *, workflows: bool = False) -> Expression:
        """Parse one expression; ``$workflows`` only when ``workflows`` (a mission's task)."""
        match = _EXPR.match(text.strip())
        if not match:
            raise ExpressionError(f"not a runtime expression: {text!r}")
        groups = match.groupdict()
        pointer = groups["pointer"]
        pointer = pointer[1:] if pointer else None
        if pointer is not None and not (
            groups["inputs"] or groups["steps"] or groups["body"] or groups["workflows"]
        ):
            raise ExpressionError(
                f"{text.strip()}: a JSON pointer (#/...) follows only $inputs, $steps, "
                "$workflows or $response.body"
            )
        if groups["workflows"]:
            if not workflows:
                raise ExpressionError(
                    f"{text.strip()}: $workflows names another task of a mission; a plan "
                    "reads it only as an input ($inputs.NAME) the mission hands in"
                )
            return cls(text, "workflows", name=groups["toutput"], step=groups["task"],
                       pointer=pointer)  # fmt: skip
        if groups["inputs"]:
            return cls(text, "inputs", name=groups["input"], pointer=pointer)
        if groups["steps"]:
            return cls(text, "steps", name=groups["output"], step=groups["step"], pointer=pointer)
        if groups["secrets"]:
            return cls(text, "secrets", name=groups["secret"])
        if groups["body"]:
            return cls(text, "response.body", pointer=pointer or "")
        if groups["rheader"]:
            return cls(text, "response.header", name=groups["header"])
        for source in ("status", "url", "method"):
            if groups[source]:
                return cls(text, {"status": "statusCode"}.get(source, source))
        raise ExpressionError(f"not a runtime expression: {text!r}")  # pragma: no cover

    def __str__(self) -> str:
        return self.text


@dataclass(frozen=True)
class Template:
    """A string with embedded expressions: ``"/pets/{$steps.find.outputs.pet_id}"``."""

    text: str
    parts: tuple[str | Expression, ...]

    @classmethod
    def parse(cls, text: str, *, workflows: bool = False) -> Template:
        parts: list[str | Expression] = []
        pos = 0
        for match in _TEMPLATE_PART.finditer(text):
            if match.start() > pos:
                parts.append(text[pos : match.start()])
            parts.append(Expression.parse(match.group(1), workflows=workflows))
            pos = match.end()
        if pos < len(text):
            parts.append(text[pos:])
        return cls(text, tuple(parts))

    @property
    def expressions(self) -> tuple[Expression, ...]:
        return tuple(p for p in self.parts if isinstance(p, Expression))

    def __str__(self) -> str:
        return self.text


def parse_value(value: Any, *, workflows: bool = False) -> Any:
    """Turn expression strings inside a plan value into Expression/Template objects.

    ``"$inputs.x"`` becomes an Expression (the value keeps the input's type); a string with
    ``{$...}`` becomes a Template (always a string). A leading ``$$`` is a literal ``$``.
    Other values are returned as they are, with mappings and lists parsed recursively.
    Raises ExpressionError for malformed ones. ``workflows`` lets ``$workflows.X.outputs.Y``
    through (a mission's task inputs); plans leave it off, so they refuse it.
    """
    if isinstance(value, str):
        if value.startswith("$$"):
            value = value[1:]  # "$$5" is the literal "$5", also ahead of a template part
        elif value.startswith("$"):
            return Expression.parse(value, workflows=workflows)
        return Template.parse(value, workflows=workflows) if "{$" in value else value
    if isinstance(value, Mapping):
        return {k: parse_value(v, workflows=workflows) for k, v in value.items()}
    if isinstance(value, list):
        return [parse_value(v, workflows=workflows) for v in value]
    return value


def walk_expressions(value: Any, path: str = "") -> list[tuple[str, Expression]]:
    """Every expression inside a parsed value, with its dotted location under ``path``.

    Locations are written only for the expressions found, from the keys on the way, each cut
    to 80 characters: a megabyte-long key over a list of 50,000 items costs one short string
    per expression, not a copy of the key per item.
    """
    found: list[tuple[str, Expression]] = []
    stack: list[tuple[Any, tuple[str | int, ...]]] = [(value, ())]
    while stack:
        current, parts = stack.pop()
        if isinstance(current, Expression):
            found.append((_location(path, parts), current))
        elif isinstance(current, Template):
            where = _location(path, parts)
            found.extend((where, e) for e in current.expressions)
        elif isinstance(current, Mapping):
            stack.extend((v, (*parts, str(k))) for k, v in reversed(list(current.items())))
        elif isinstance(current, list):
            stack.extend((v, (*parts, i)) for i, v in reversed(list(enumerate(current))))
    return found


def _location(path: str, parts: tuple[str | int, ...]) -> str:
    out = path
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            shown = part if len(part) <= 80 else part[:77] + "..."
            out = f"{out}.{shown}" if out else shown
    return out


_MISSING = object()


def resolve_pointer(document: Any, pointer: str) -> Any:
    """Follow an RFC 6901 JSON pointer; raise ExpressionError naming where it stopped."""
    try:
        return json_pointer.resolve(document, pointer)
    except (json_pointer.PointerNotFound, ValueError) as exc:
        raise ExpressionError(str(exc)) from None


@dataclass
class Context:
    """What expressions resolve against while a plan runs."""

    inputs: Mapping[str, Any]
    outputs: Mapping[str, Mapping[str, Any]]  # step id -> output name -> value
    secret: Callable[[str], str]  # reads a secret by name; raises ExpressionError when unset
    response: Mapping[str, Any] | None = None  # {"status", "headers", "body", "url", "method"}

    def resolve(self, expr: Expression) -> Any:
        """The value of ``expr``; an ExpressionError names the expression and what is missing."""
        value = self._base(expr)
        if expr.pointer and expr.source != "response.body":
            value = _pointer_of(expr, value)
        return value

    def _base(self, expr: Expression) -> Any:
        if expr.source == "inputs":
            if expr.name not in self.inputs:
                raise ExpressionError(f"{expr.text}: no input named {expr.name!r}")
            return self.inputs[expr.name or ""]
        if expr.source == "steps":
            step_outputs = self.outputs.get(expr.step or "")
            if step_outputs is None:
                raise ExpressionError(f"{expr.text}: step {expr.step!r} has not run")
            if expr.name not in step_outputs:
                raise ExpressionError(
                    f"{expr.text}: step {expr.step!r} has no output {expr.name!r}"
                )
            return step_outputs[expr.name or ""]
        if expr.source == "secrets":
            return self.secret(expr.name or "")
        if expr.source == "workflows":  # the supervisor resolves these, never a plan's run
            raise ExpressionError(f"{expr.text}: another task's outputs are not known here")
        if self.response is None:
            raise ExpressionError(f"{expr.text}: there is no response here")
        if expr.source == "response.body":
            return _pointer_of(expr, self.response.get("body"))
        if expr.source == "response.header":
            headers = {k.lower(): v for k, v in self.response.get("headers", {}).items()}
            name = (expr.name or "").lower()
            if name not in headers:
                raise ExpressionError(f"{expr.text}: the response has no header {expr.name!r}")
            return headers[name]
        if expr.source == "statusCode":
            return self.response.get("status")
        return self.response.get(expr.source)


def _pointer_of(expr: Expression, document: Any) -> Any:
    try:
        return resolve_pointer(document, expr.pointer or "")
    except ExpressionError as exc:
        raise ExpressionError(f"{expr.text}: {exc}") from None


MAX_RESOLVED_CHARS = 16_000_000
"""A value with its expressions filled in (a request body, a URL) may be at most this big.

One input of a megabyte named 100,000 times in a body is a 100 GB request: expressions can
multiply what they point at the way YAML aliases do, so their result is counted the same way.
"""


def resolve_value(value: Any, ctx: Context) -> Any:
    """Resolve every Expression and Template inside a parsed value.

    ExpressionError when the result would be bigger than :data:`MAX_RESOLVED_CHARS`.
    """
    return _resolve(value, ctx, _Budget())


class _Budget:
    """Characters spent so far on one resolved value (a JSON-ish size, not an exact one)."""

    def __init__(self) -> None:
        self.spent = 0
        self.sizes: dict[int, int] = {}  # id of a resolved container -> its size, counted once

    def charge(self, chars: int) -> None:
        self.spent += chars
        if self.spent > MAX_RESOLVED_CHARS:
            raise ExpressionError(
                f"the value would be more than {MAX_RESOLVED_CHARS:,} characters once its "
                "expressions are filled in"
            )

    def charge_value(self, value: Any) -> None:
        """Charge what a resolved value will cost to send: each container's size once per
        resolution is remembered, so naming it again costs a lookup, not a walk."""
        known = self.sizes.get(id(value))
        if known is not None:
            self.charge(known)
            return
        before = self.spent
        stack = [value]
        while stack:
            current = stack.pop()
            if isinstance(current, str):
                self.charge(len(current) + 2)
            elif isinstance(current, Mapping):
                self.charge(2 + sum(len(str(k)) + 4 for k in current))
                stack.extend(current.values())
            elif isinstance(current, list | tuple):
                self.charge(2 + len(current))
                stack.extend(current)
            else:
                self.charge(8)
        if isinstance(value, Mapping | list):
            self.sizes[id(value)] = self.spent - before


def _resolve(value: Any, ctx: Context, budget: _Budget) -> Any:
    if isinstance(value, Expression):
        resolved = ctx.resolve(value)
        budget.charge_value(resolved)
        return resolved
    if isinstance(value, Template):
        out = []
        for part in value.parts:
            if isinstance(part, Expression):
                resolved = ctx.resolve(part)
                text = resolved if isinstance(resolved, str) else as_text(resolved)
            else:
                text = part
            budget.charge(len(text))
            out.append(text)
        return "".join(out)
    if isinstance(value, Mapping):
        budget.charge(2 + sum(len(str(k)) + 4 for k in value))
        return {k: _resolve(v, ctx, budget) for k, v in value.items()}
    if isinstance(value, list):
        budget.charge(2 + len(value))
        return [_resolve(v, ctx, budget) for v in value]
    budget.charge(len(value) + 2 if isinstance(value, str) else 8)
    return value


def as_text(value: Any) -> str:
    """A resolved value as it reads inside a template: null is empty, booleans are
    ``true``/``false``, objects and arrays compact JSON, anything else ``str``."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Mapping | list):
        import json

        # (a value that is not JSON inside, e.g. a date a YAML file gave, reads as its str)
        return json.dumps(value, separators=(",", ":"), default=str)
    return str(value)
