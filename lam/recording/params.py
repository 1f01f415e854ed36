"""Typed values of a recording, and turning chosen ones into plan inputs.

A field is named by its step id, label, accessible name, ``name``/``id`` attribute or
placeholder (case does not matter). Parameterising it writes ``$inputs.NAME`` as the step's
value and declares ``inputs: {NAME: {type: string, default: <recorded value>}}``, so
``--input NAME=VALUE`` changes it at run time. Password fields (``$secrets.*``) are not offered.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from lam.errors import UsageError

__all__ = ["TypedField", "parameterize", "typed_fields"]


@dataclass(frozen=True)
class TypedField:
    """One fill step of a recording: the step, what the field is called, and the value."""

    step: str
    index: int
    field: str
    value: str
    names: tuple[str, ...]


def typed_fields(document: Mapping[str, Any]) -> list[TypedField]:
    """The fill steps whose value is a literal (not a secret, not already an input)."""
    found: list[TypedField] = []
    for index, step in enumerate(document.get("steps") or []):
        target = step.get("fill")
        value = step.get("value")
        if not isinstance(target, Mapping) or not isinstance(value, str) or _is_expression(value):
            continue
        fp: Mapping[str, Any] = target.get("fingerprint") or {}
        attrs: Mapping[str, Any] = fp.get("attributes") or {}
        names = [
            step["id"], fp.get("label"), fp.get("name"), attrs.get("name"), attrs.get("id"),
            attrs.get("placeholder"), target.get("label"), target.get("placeholder"),
        ]  # fmt: skip
        clean = tuple(dict.fromkeys(str(n) for n in names if n))
        field = str(fp.get("label") or fp.get("name") or attrs.get("name") or step["id"])
        found.append(TypedField(step["id"], index, field, value, clean))
    return found


def parameterize(document: Mapping[str, Any], chosen: Mapping[str, str]) -> dict[str, Any]:
    """A copy of ``document`` where each chosen field's value is the input named for it.

    ``chosen`` maps an input name to a field (step id, label, name, id or placeholder).
    An unknown field is a UsageError that lists the typed fields.
    """
    out = copy.deepcopy(dict(document))
    fields = typed_fields(out)
    inputs: dict[str, Any] = dict(out.get("inputs") or {})
    for input_name, wanted in chosen.items():
        matches = [f for f in fields if wanted.lower() in (n.lower() for n in f.names)]
        if not matches:
            known = ", ".join(f"{f.step} ({f.field})" for f in fields) or "none"
            raise UsageError(
                f"no typed field {wanted!r} to make input {input_name!r}; typed fields: {known}",
                code="unknown-field",
            )
        for field in matches:
            out["steps"][field.index]["value"] = f"$inputs.{input_name}"
        inputs[input_name] = {"type": "string", "default": _unescape(matches[0].value)}
    if inputs:
        ordered = {k: v for k, v in out.items() if k != "steps"}
        ordered["inputs"] = inputs
        ordered["steps"] = out["steps"]
        out = ordered
    return out


def _is_expression(value: str) -> bool:
    return value.startswith("$") and not value.startswith("$$")


def _unescape(value: str) -> str:
    return value[1:] if value.startswith("$$") else value
