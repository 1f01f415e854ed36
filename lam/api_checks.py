"""One API call checked against its OpenAPI operation, before anything is sent.

:func:`check_call` looks at the parameters and body a plan step gives an operation: required
parameters present, unknown ones named (with a "did you mean"), literal values valid for their
schema, runtime expressions type-checked when their type is known, the body present when
required, of an accepted content type and valid for its schema. Locations are relative to the
step (``params.petId``, ``body.tags[0].name``); the validator puts ``steps[3].`` in front.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from lam import json_pointer
from lam.documents import format_path
from lam.errors import SpecError
from lam.expressions import Expression, Template
from lam.plans import NO_BODY
from lam.spec import Operation, Parameter, Spec

__all__ = ["NO_BODY", "CallProblem", "ExpressionSchema", "check_call"]


ExpressionSchema = Callable[[Expression], Mapping[str, Any] | None]
"""Gives the schema of what an expression resolves to, or None when it is not known."""

# OpenAPI: header parameters with these names are ignored; they are set by lam itself.
_IGNORED_HEADERS = frozenset({"accept", "content-type", "authorization"})
_LOCATION_ORDER = {"path": 0, "query": 1, "header": 2, "cookie": 3}
_SCALARS = frozenset({"string", "integer", "number", "boolean"})


@dataclass(frozen=True)
class CallProblem:
    """One problem with a call: where (relative to the step), a short code, and what."""

    location: str
    code: str
    message: str


def check_call(
    spec: Spec,
    op: Operation,
    *,
    params: Mapping[str, Any],
    body: Any = NO_BODY,
    content_type: str | None = None,
    expression_schema: ExpressionSchema | None = None,
) -> list[CallProblem]:
    """Every problem of calling ``op`` with ``params`` and ``body``; empty when the call is fine.

    Values may be plain data, :class:`~lam.expressions.Expression` (checked only when
    ``expression_schema`` knows its schema) or :class:`~lam.expressions.Template` (a string).
    """
    problems = _check_params(spec, op, params, expression_schema)
    problems.extend(_check_body(spec, op, body, content_type, expression_schema))
    return problems


# ----------------------------------------------------------------------------- parameters


def _check_params(
    spec: Spec, op: Operation, params: Mapping[str, Any], expression_schema: ExpressionSchema | None
) -> list[CallProblem]:
    problems: list[CallProblem] = []
    by_name: dict[str, Parameter] = {}
    for param in sorted(op.parameters, key=lambda p: _LOCATION_ORDER.get(p.location, 9)):
        key = param.name.lower() if param.location == "header" else param.name
        by_name.setdefault(key, param)
    given = {_given_key(name, by_name): name for name in params}
    for param in op.parameters:
        key = param.name.lower() if param.location == "header" else param.name
        if param.required and key not in given and by_name.get(key) is param:
            problems.append(
                CallProblem(
                    f"params.{param.name}",
                    "missing-param",
                    f"required {param.location} parameter {param.name!r} is missing",
                )
            )
    for key, name in given.items():
        found = by_name.get(key)
        where = f"params.{name}"
        if found is None:
            if name.lower() in _IGNORED_HEADERS:
                continue
            problems.append(CallProblem(where, "unknown-param", _unknown(name, op)))
            continue
        problems.extend(_check_param_value(spec, found, params[name], where, expression_schema))
    return problems


def _given_key(name: str, by_name: Mapping[str, Parameter]) -> str:
    if name in by_name:
        return name
    lowered = name.lower()
    header = by_name.get(lowered)
    return lowered if header is not None and header.location == "header" else name


def _unknown(name: str, op: Operation) -> str:
    known = [p.name for p in op.parameters]
    close = difflib.get_close_matches(name, known, n=1, cutoff=0.6)
    if close:
        return f"unknown parameter {name!r} (did you mean {close[0]!r}?)"
    if known:
        return f"unknown parameter {name!r} ({op.key} takes {', '.join(known)})"
    return f"unknown parameter {name!r} ({op.key} takes no parameters)"


def _check_param_value(
    spec: Spec,
    param: Parameter,
    value: Any,
    where: str,
    expression_schema: ExpressionSchema | None,
) -> list[CallProblem]:
    schema = spec.resolve(param.schema) if param.schema else {}
    if not isinstance(schema, Mapping):
        return []
    if isinstance(value, Expression):
        return _check_expression(spec, value, schema, where, expression_schema, serialized=True)
    if isinstance(value, Template):
        wanted = _types(schema)
        if param.location == "path" or not wanted or "string" in wanted:
            return []
        if wanted <= {"integer", "number", "boolean"} and not _could_be_scalar(value):
            return [
                CallProblem(
                    where,
                    "type-mismatch",
                    f"expected {' or '.join(sorted(wanted))}, got a string template {value.text!r}",
                )
            ]
        return []
    if _contains_expressions(value):
        return []  # a list or object with expressions inside: checked when resolved
    errors = spec.validator(schema).errors(_coerce(value, schema))
    return [
        CallProblem(_join(where, pointer), "invalid-param", message) for pointer, message in errors
    ]


def _coerce(value: Any, schema: Mapping[str, Any]) -> Any:
    """Parameters travel as text: ``"7"`` is a fine integer, ``"abc"`` is not."""
    if not isinstance(value, str):
        return value
    wanted = _types(schema)
    if "string" in wanted or not wanted:
        return value
    if "integer" in wanted and _parses(int, value):
        return int(value)
    if "number" in wanted and _parses(float, value):
        return float(value)
    if "boolean" in wanted and value in ("true", "false"):
        return value == "true"
    return value


def _parses(kind: Callable[[str], Any], text: str) -> bool:
    try:
        kind(text)
    except ValueError:
        return False
    return True


def _could_be_scalar(template: Template) -> bool:
    """Whether a template could render as a number or boolean (its literal text allows it)."""
    literal = "".join(p for p in template.parts if isinstance(p, str))
    return all(c.isdigit() or c in "+-.eE" for c in literal)


# ----------------------------------------------------------------------------- types


def _types(schema: Mapping[str, Any]) -> set[str]:
    """The JSON types a schema allows; empty when it does not say."""
    raw = schema.get("type")
    if isinstance(raw, str):
        found = {raw}
    elif isinstance(raw, list):
        found = {str(t) for t in raw}
    else:
        return set()
    if schema.get("nullable") is True:
        found.add("null")
    return found


def _compatible(source: set[str], target: set[str], *, serialized: bool) -> bool:
    if not source or not target:
        return True
    if source & target:
        return True
    if "integer" in source and "number" in target:
        return True
    if "number" in source and "integer" in target:
        return True  # a number may well be whole; only the value can tell
    # Path, query and header values are text on the wire: any scalar fits a string.
    return serialized and "string" in target and bool(source & _SCALARS)


def _check_expression(
    spec: Spec,
    expr: Expression,
    target: Mapping[str, Any] | None,
    where: str,
    expression_schema: ExpressionSchema | None,
    *,
    serialized: bool,
) -> list[CallProblem]:
    if expression_schema is None or target is None:
        return []
    source = expression_schema(expr)
    if source is None:
        return []
    if isinstance(source.get("$ref"), str):
        try:
            source = spec.resolve(source)
        except SpecError:  # a schema from another document: its type is unknown
            return []
    if not isinstance(source, Mapping):
        return []
    have, want = _types(source), _types(target)
    if _compatible(have, want, serialized=serialized):
        return []
    return [
        CallProblem(
            where,
            "type-mismatch",
            f"{expr.text} is {' or '.join(sorted(have))}, expected {' or '.join(sorted(want))}",
        )
    ]


# ----------------------------------------------------------------------------- body


def _check_body(
    spec: Spec,
    op: Operation,
    body: Any,
    content_type: str | None,
    expression_schema: ExpressionSchema | None,
) -> list[CallProblem]:
    request = op.request_body
    if body is NO_BODY:
        if request is not None and request.get("required") is True:
            return [CallProblem("body", "missing-body", f"{op.key} requires a request body")]
        return []
    if request is None:
        return [CallProblem("body", "unexpected-body", f"{op.key} takes no request body")]
    chosen = op.request_schema(content_type)
    if chosen is None:
        offered = list(request.get("content") or {})
        if content_type is not None:
            accepts = ", ".join(offered) or "nothing"
            return [
                CallProblem(
                    "body",
                    "content-type",
                    f"content type {content_type!r} is not accepted (accepts: {accepts})",
                )
            ]
        return []
    schema = spec.resolve(chosen[1])
    if not isinstance(schema, Mapping) or not schema:
        return []
    problems: list[CallProblem] = []
    holes: list[str] = []
    concrete = _fill(spec, schema, body, "", holes, problems, expression_schema)
    for problem in spec.validator(schema).problems(concrete):
        pointer = problem.pointer
        if any(pointer == h or pointer.startswith(h + "/") for h in holes):
            continue
        if problem.keyword == "required" and spec.read_only(schema, pointer):
            continue  # the server fills it in; a request leaves it out
        problems.append(CallProblem(_join("body", pointer), "invalid-body", problem.message))
    return problems


def _fill(
    spec: Spec,
    root: Mapping[str, Any],
    value: Any,
    pointer: str,
    holes: list[str],
    problems: list[CallProblem],
    expression_schema: ExpressionSchema | None,
) -> Any:
    """A copy of ``value`` with expressions replaced by plausible values, their places noted."""
    if isinstance(value, Expression | Template):
        holes.append(pointer)
        target = spec.schema_at(root, pointer)
        where = _join("body", pointer)
        if isinstance(value, Expression):
            problems.extend(
                _check_expression(spec, value, target, where, expression_schema, serialized=False)
            )
        elif target is not None:
            wanted = _types(target)
            if wanted and "string" not in wanted:
                problems.append(
                    CallProblem(
                        where,
                        "type-mismatch",
                        f"expected {' or '.join(sorted(wanted))}, "
                        f"got a string template {value.text!r}",
                    )
                )
        return _plausible(target) if isinstance(value, Expression) else value.text
    if isinstance(value, Mapping):
        return {
            k: _fill(
                spec, root, v, pointer + json_pointer.join([k]), holes, problems, expression_schema
            )
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [
            _fill(spec, root, v, f"{pointer}/{i}", holes, problems, expression_schema)
            for i, v in enumerate(value)
        ]
    return value


def _plausible(schema: Mapping[str, Any] | None) -> Any:
    """A value of the schema's type, so checks around an expression see something sensible."""
    if schema is None:
        return ""
    for key in ("const", "default", "example"):
        if key in schema:
            return schema[key]
    enum = schema.get("enum")
    if isinstance(enum, list) and enum:
        return enum[0]
    wanted = _types(schema)
    for kind, sample in (
        ("string", ""),
        ("integer", 0),
        ("number", 0),
        ("boolean", False),
        ("array", []),
        ("object", {}),
    ):
        if kind in wanted:
            return sample
    return ""


def _contains_expressions(value: Any) -> bool:
    if isinstance(value, Expression | Template):
        return True
    if isinstance(value, Mapping):
        return any(_contains_expressions(v) for v in value.values())
    if isinstance(value, list):
        return any(_contains_expressions(v) for v in value)
    return False


def _join(base: str, pointer: str) -> str:
    """``("body", "/tags/0/name")`` -> ``body.tags[0].name``."""
    parts: list[str | int] = [base]
    for token in json_pointer.parse(pointer):
        position = json_pointer.index(token)
        parts.append(token if position is None else position)
    return format_path(parts)
