"""A plan's inputs: defaults, ``--input NAME=VALUE`` overrides, types checked by their schema."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from jsonschema import Draft202012Validator

from lam.errors import UsageError
from lam.limits import DOCUMENT_LIMITS, OverLimit, load_json
from lam.plans import Plan

__all__ = ["coerce_input", "input_problem", "resolve_inputs"]


def resolve_inputs(plan: Plan, given: Mapping[str, Any]) -> dict[str, Any]:
    """Every input's value: given on the command line, else its default; checked by schema.

    Command-line strings are read as the input's type (``--input count=3`` for an integer).
    An unknown name, a missing required input or a value off its schema is a usage error.
    """
    unknown = sorted(set(given) - set(plan.inputs))
    if unknown:
        known = ", ".join(sorted(plan.inputs)) or "none"
        raise UsageError(f"--input {unknown[0]}: the plan has no such input (inputs: {known})")
    values: dict[str, Any] = {}
    for name, schema in plan.inputs.items():
        if name in given:
            value = coerce_input(name, given[name], schema)
        elif "default" in schema:
            value = schema["default"]
        else:
            raise UsageError(
                f"input {name!r} has no default: pass --input {name}=VALUE", code="missing-input"
            )
        problem = input_problem(value, schema)
        if problem is not None:
            raise UsageError(f"--input {name}={_short(repr(value))}: {problem}", code="bad-input")
        values[name] = value
    return values


def input_problem(value: Any, schema: Mapping[str, Any]) -> str | None:
    """What is wrong with ``value`` for an input of ``schema`` (the first error, short), or
    None. (``lam run --inputs`` checks each row's cells with it too: lam.fleet.rows.)"""
    errors = sorted(Draft202012Validator(schema).iter_errors(value), key=lambda e: e.path)
    return _short(errors[0].message) if errors else None


def coerce_input(name: str, value: Any, schema: Mapping[str, Any]) -> Any:
    """A command-line (or CSV) string read as the input's type: ``3`` for an integer input
    is 3; other values as given. Too long a string is a usage error."""
    if not isinstance(value, str):
        return value
    if len(value) > DOCUMENT_LIMITS.max_string:
        raise UsageError(
            f"--input {name}: {len(value):,} characters, more than the "
            f"{DOCUMENT_LIMITS.max_string:,} allowed",
            code="too-large",
        )
    kind = schema.get("type")
    if kind in ("integer", "number", "boolean", "array", "object", "null"):
        try:
            # The same limits as a plan's own values: depth, numbers, strings.
            return load_json(value, DOCUMENT_LIMITS)
        except json.JSONDecodeError:
            return value  # the schema check reports it
        except OverLimit as exc:
            raise UsageError(f"--input {name}: {exc.message}", code=exc.code) from None
    return value


def _short(text: str, limit: int = 120) -> str:
    # A value can be a megabyte long; the error line quotes only its start.
    return text if len(text) <= limit else f"{text[:limit]}... ({len(text):,} characters)"
