"""Compiled JSON Schema validators for OpenAPI documents.

OpenAPI 3.0 schemas are JSON Schema draft 4 with ``nullable`` (and ``$ref`` siblings ignored,
``exclusiveMinimum`` a boolean, which draft 4 already does); 3.1 schemas are JSON Schema 2020-12.
Refs resolve lazily through a ``referencing`` registry holding the whole (bundled) document.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from jsonschema import Draft4Validator, Draft202012Validator, FormatChecker
from jsonschema import _keywords as keywords
from jsonschema.exceptions import ValidationError, best_match
from jsonschema.protocols import Validator
from jsonschema.validators import extend
from referencing import Registry, Resource, Specification
from referencing.jsonschema import DRAFT202012

from lam import json_pointer

__all__ = [
    "DOCUMENT_URI",
    "SchemaProblem",
    "SchemaValidator",
    "describe",
    "make_registry",
    "validator_class",
]

DOCUMENT_URI = "urn:lam:openapi"
"""The URI the bundled document is registered under; every ``$ref`` is local to it."""

_DATE_TIME = re.compile(
    r"^\d{4}-\d\d-\d\d[Tt ]\d\d:\d\d:\d\d(\.\d+)?([Zz]|[+-]\d\d:\d\d)$", re.ASCII
)
_DATE = re.compile(r"^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])$", re.ASCII)
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+$")

FORMATS = FormatChecker(formats=())


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


@FORMATS.checks("int32")
def _int32(value: Any) -> bool:
    return not _is_int(value) or -(2**31) <= value < 2**31


@FORMATS.checks("int64")
def _int64(value: Any) -> bool:
    return not _is_int(value) or -(2**63) <= value < 2**63


@FORMATS.checks("date-time")
def _date_time(value: Any) -> bool:
    return not isinstance(value, str) or bool(_DATE_TIME.match(value))


@FORMATS.checks("date")
def _date(value: Any) -> bool:
    return not isinstance(value, str) or bool(_DATE.match(value))


@FORMATS.checks("email")
def _email(value: Any) -> bool:
    return not isinstance(value, str) or bool(_EMAIL.match(value))


@FORMATS.checks("uuid", raises=ValueError)
def _uuid(value: Any) -> bool:
    return not isinstance(value, str) or bool(uuid.UUID(value))


def _nullable(fn: Any) -> Any:
    def check(
        validator: Validator, value: Any, instance: Any, schema: Mapping[str, Any]
    ) -> Iterator[ValidationError]:
        if instance is None and schema.get("nullable") is True:
            return iter(())
        result: Iterator[ValidationError] = fn(validator, value, instance, schema)
        return result

    return check


def _numeric(fn: Any) -> Any:
    """A bound the spec writes as text (Spotify's ``"maximum": "50"``) is read as its number;
    one that is no number is not checked (comparing it would raise; ``lam spec check`` reports
    the malformed schema)."""

    def check(
        validator: Validator, value: Any, instance: Any, schema: Mapping[str, Any]
    ) -> Iterator[ValidationError]:
        if isinstance(value, str):
            value = _number(value)
        if not isinstance(value, int | float) or isinstance(value, bool):
            return iter(())
        result: Iterator[ValidationError] = fn(validator, value, instance, schema)
        return result

    return check


def _number(text: str) -> int | float | None:
    for kind in (int, float):
        try:
            return kind(text.strip())
        except ValueError:
            continue
    return None


def _numeric_keywords(cls: Any) -> dict[str, Any]:
    return {name: _numeric(cls.VALIDATORS[name]) for name in _NUMERIC if name in cls.VALIDATORS}


_NUMERIC = (
    "minimum",
    "maximum",
    "exclusiveMinimum",
    "exclusiveMaximum",
    "multipleOf",
    "minLength",
    "maxLength",
    "minItems",
    "maxItems",
    "minProperties",
    "maxProperties",
)

_OAS30 = extend(  # type: ignore[no-untyped-call]
    Draft4Validator,
    validators={
        **_numeric_keywords(Draft4Validator),
        "type": _nullable(keywords.type),
        "enum": _nullable(keywords.enum),
        "format": _nullable(keywords.format),
    },
    version="oas30",
)
# No version: a version would register the class as the 2020-12 validator for everyone.
_OAS31 = extend(  # type: ignore[no-untyped-call]
    Draft202012Validator, validators=_numeric_keywords(Draft202012Validator)
)

# OpenAPI 3.0 has no $id: the whole document is one opaque resource, walked by pointer only.
_OPAQUE: Specification[Any] = Specification.OPAQUE


def validator_class(openapi: str) -> Any:
    """The jsonschema validator class for an ``openapi`` version string."""
    return _OAS31 if openapi.startswith("3.1") else _OAS30


def make_registry(document: Mapping[str, Any], openapi: str) -> Registry[Any]:
    """A registry holding the document, so ``#/components/...`` refs resolve lazily."""
    spec = DRAFT202012 if openapi.startswith("3.1") else _OPAQUE
    resource: Resource[Any] = Resource(document, spec)  # type: ignore[call-arg]
    registry: Registry[Any] = Registry().with_resource(DOCUMENT_URI, resource)
    return registry


@dataclass(frozen=True)
class SchemaProblem:
    """One way an instance breaks a schema.

    ``pointer`` is where in the instance (``/0/id``; for a missing required property, the
    property's own place), ``message`` what lam shows (``expected integer, got "3"``), and
    ``keyword`` the JSON Schema keyword that failed (``type``, ``required``, ``enum``...):
    code that treats some problems differently matches the keyword, never the message.
    """

    pointer: str
    message: str
    keyword: str


class SchemaValidator:
    """One compiled schema; ``problems`` lists every problem with its keyword, ``errors`` the
    same as ``(json pointer, message)`` pairs."""

    __slots__ = ("_validator",)

    def __init__(self, schema: Mapping[str, Any], cls: Any, registry: Registry[Any]) -> None:
        self._validator: Any = cls(
            schema,
            registry=registry,
            format_checker=FORMATS,
            _resolver=registry.resolver(base_uri=DOCUMENT_URI),
        )

    def problems(self, instance: Any) -> list[SchemaProblem]:
        """All problems of ``instance``, each with its pointer, message and keyword."""
        return [_render(err) for err in self._validator.iter_errors(instance)]

    def errors(self, instance: Any) -> list[tuple[str, str]]:
        """All errors of ``instance``: JSON pointer into it (``/0/id``) and a short message."""
        return [(p.pointer, p.message) for p in self.problems(instance)]

    def is_valid(self, instance: Any) -> bool:
        """Whether ``instance`` is valid against the schema."""
        return bool(self._validator.is_valid(instance))


def describe(value: Any) -> str:
    """A value as messages show it: ``"abc"``, ``42``, ``an object``."""
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "an array"
    try:
        text = json.dumps(value)
    except (TypeError, ValueError):
        text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _render(err: ValidationError) -> SchemaProblem:
    if err.context and err.validator in ("anyOf", "oneOf"):
        deeper = best_match(err.context)
        if deeper is not None and len(deeper.absolute_path) > len(err.absolute_path):
            return _render(deeper)
    where = json_pointer.join(err.absolute_path)
    got = describe(err.instance)
    kind = str(err.validator)

    def problem(message: str, at: str = where) -> SchemaProblem:
        return SchemaProblem(at, message, kind)

    if kind == "type":
        expected = err.validator_value
        names = " or ".join(expected) if isinstance(expected, list) else str(expected)
        return problem(f"expected {names}, got {got}")
    if kind == "enum":
        options = ", ".join(describe(v) for v in _as_list(err.validator_value))
        return problem(f"expected one of {options}, got {got}")
    if kind == "format":
        return problem(f"expected {err.validator_value}, got {got}")
    if kind == "pattern":
        return problem(f'expected a string matching "{err.validator_value}", got {got}')
    if kind == "required" and isinstance(err.instance, dict):
        for name in _as_list(err.validator_value):
            if name not in err.instance and str(err.message).startswith(repr(name)):
                return problem("required property is missing", where + json_pointer.join([name]))
    if kind == "additionalProperties" and isinstance(err.instance, dict):
        known = set(err.schema.get("properties", {})) if isinstance(err.schema, dict) else set()
        extra = sorted(k for k in err.instance if k not in known)
        if extra:
            return problem(f"unknown property {extra[0]!r}", where + json_pointer.join([extra[0]]))
    return problem(str(err.message))


def _as_list(value: Any) -> list[Any]:
    return list(value) if isinstance(value, list | tuple) else []
