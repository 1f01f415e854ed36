"""Reading the documents users and models write: YAML or JSON, checked against a JSON Schema.

Every failure becomes a :class:`~lam.errors.DocumentError` (or the subclass the caller names)
carrying the file and the place in it, so the command line can print one line.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Iterable, Mapping
from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError

from lam.errors import DocumentError

__all__ = [
    "MAX_DOCUMENT_BYTES",
    "format_path",
    "load_document",
    "parse_text",
    "read_text",
    "schema",
    "schema_errors",
]

MAX_DOCUMENT_BYTES = 64 * 1024 * 1024
"""Larger files are refused before they are read: a plan, policy or spec is never this big."""


class _UniqueKeyLoader(yaml.SafeLoader):
    """A safe YAML loader that refuses duplicate keys and keeps timestamps as strings."""


def _construct_mapping(loader: yaml.SafeLoader, node: yaml.MappingNode) -> dict[Any, Any]:
    loader.flatten_mapping(node)
    mapping: dict[Any, Any] = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node)  # type: ignore[no-untyped-call]
        try:
            hash(key)
        except TypeError:
            raise yaml.constructor.ConstructorError(
                None, None, "a mapping key must be a plain value", key_node.start_mark
            ) from None
        if key in mapping:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {key!r}", key_node.start_mark
            )
        mapping[key] = loader.construct_object(value_node)  # type: ignore[no-untyped-call]
    return mapping


def _construct_str(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> str:
    return str(loader.construct_scalar(node))


_UniqueKeyLoader.add_constructor(
    yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG,
    _construct_mapping,  # type: ignore[arg-type]
)
_UniqueKeyLoader.add_constructor("tag:yaml.org,2002:timestamp", _construct_str)


_FastLoader: type[Any] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _FastStringTimestampLoader(_FastLoader):  # type: ignore[misc, valid-type]
    """libyaml's loader, for big specs; timestamps stay strings as JSON would have them."""


_FastStringTimestampLoader.add_constructor("tag:yaml.org,2002:timestamp", _construct_str)


def read_text(
    path: Path,
    *,
    error: type[DocumentError] = DocumentError,
    max_bytes: int = MAX_DOCUMENT_BYTES,
) -> str:
    """Read a UTF-8 text file, refusing missing, unreadable, huge or non-UTF-8 files."""
    name = str(path)
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        raise error("file not found", file=name, code="not-found") from None
    except OSError as exc:
        raise error(f"cannot read: {exc.strerror}", file=name, code="unreadable") from None
    if path.is_dir():
        raise error("is a directory, not a file", file=name, code="unreadable")
    if size > max_bytes:
        raise error(
            f"file is {size / 1e6:.1f} MB, more than the {max_bytes / 1e6:.0f} MB allowed",
            file=name,
            code="too-large",
        )
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise error(f"cannot read: {exc.strerror}", file=name, code="unreadable") from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise error(
            f"not UTF-8 text (byte 0x{data[exc.start]:02x} at offset {exc.start})",
            file=name,
            location=f"line {line}",
            code="encoding",
        ) from None
    return text.removeprefix("\ufeff")


def parse_text(
    text: str,
    *,
    name: str,
    error: type[DocumentError] = DocumentError,
    fast: bool = False,
) -> Any:
    """Parse JSON or YAML text. ``fast`` uses libyaml and allows duplicate keys (big specs)."""
    stripped = text.lstrip()
    if stripped.startswith(("{", "[")) and (fast or name.endswith(".json")):
        try:
            return json.loads(text)
        except json.JSONDecodeError as exc:
            if name.endswith(".json"):
                raise error(
                    f"invalid JSON: {exc.msg}",
                    file=name,
                    location=f"line {exc.lineno}, column {exc.colno}",
                    code="syntax",
                ) from None
    loader = _FastStringTimestampLoader if fast else _UniqueKeyLoader
    try:
        return yaml.load(text, Loader=loader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else None
        problem = exc.problem or exc.context or "invalid YAML"
        raise error(f"invalid YAML: {problem}", file=name, location=where, code="syntax") from None
    except yaml.YAMLError as exc:
        raise error(f"invalid YAML: {exc}", file=name, code="syntax") from None
    except RecursionError:
        raise error("document is nested too deeply", file=name, code="syntax") from None


def load_document(
    path: Path,
    *,
    error: type[DocumentError] = DocumentError,
    max_bytes: int = MAX_DOCUMENT_BYTES,
) -> Any:
    """Read and parse one YAML or JSON file; files over ``max_bytes`` are refused unread."""
    return parse_text(
        read_text(path, error=error, max_bytes=max_bytes), name=str(path), error=error
    )


def format_path(parts: Iterable[str | int]) -> str:
    """``["steps", 3, "params", "petId"]`` -> ``steps[3].params.petId``."""
    out = ""
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
        elif out:
            out += f".{part}"
        else:
            out = str(part)
    return out or "(top level)"


_SCHEMAS: dict[str, Mapping[str, Any]] = {}


def schema(name: str) -> Mapping[str, Any]:
    """A JSON Schema shipped in ``lam/schemas`` (``plan``, ``policy``, ``recording``...)."""
    if name not in _SCHEMAS:
        text = resources.files("lam.schemas").joinpath(f"{name}.schema.json").read_text("utf-8")
        _SCHEMAS[name] = json.loads(text)
    return _SCHEMAS[name]


def schema_errors(instance: Any, schema_name: str) -> list[tuple[str, str]]:
    """All errors of ``instance`` against a shipped schema as ``(location, message)``, in order.

    Each error is reduced to the most specific sub-error so the message names the real field.
    """
    validator = Draft202012Validator(schema(schema_name))
    found: list[tuple[str, str]] = []
    for err in sorted(validator.iter_errors(instance), key=lambda e: list(map(str, e.path))):
        err = _most_specific(err)
        found.append((format_path(err.absolute_path), _message(err)))
    return found


def _most_specific(err: ValidationError) -> ValidationError:
    """Descend into oneOf/anyOf branches, preferring the branch whose type fits the value."""
    while err.context:
        fitting = [e for e in err.context if not (e.validator == "type" and not e.path)]
        pool = fitting or list(err.context)
        err = max(pool, key=lambda e: len(e.absolute_path))
    return err


def _message(err: ValidationError) -> str:
    if err.validator == "additionalProperties" and isinstance(err.schema, Mapping):
        known = err.schema.get("properties", {})
        extra = sorted(
            set(err.instance if isinstance(err.instance, Mapping) else ()) - set(known), key=str
        )
        allowed = ", ".join(sorted(map(str, known)))
        close = (
            difflib.get_close_matches(extra[0], list(map(str, known)), n=1, cutoff=0.6)
            if len(extra) == 1 and isinstance(extra[0], str)
            else []
        )
        if close:
            return f"unknown key {extra[0]!r} (did you mean {close[0]!r}?)"
        return f"unknown key {', '.join(map(repr, extra))} (allowed: {allowed})"
    if err.validator == "type":
        return f"expected {err.validator_value}, got {_kind(err.instance)}"
    if err.validator == "required":
        return str(err.message).replace(" is a required property", " is required")
    return str(err.message)


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, str):
        return f"string {value[:40]!r}"
    return f"{type(value).__name__} {value!r}"
