"""Reading the documents users and models write: YAML or JSON, checked against a JSON Schema.

Every failure becomes a :class:`~lam.errors.DocumentError` (or the subclass the caller names)
carrying the file and the place in it, so the command line can print one line. Parsing goes
through :mod:`lam.limits`, so no document can nest, alias or number its way past a few hundred
megabytes or seconds.
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
from lam.limits import DOCUMENT_LIMITS, Limits, OverLimit, load_json, load_yaml

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
    except ValueError:  # a NUL in the name: no such file can exist
        raise error(
            "not a file name (it holds a NUL character)", file=name, code="not-found"
        ) from None
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
    limits: Limits = DOCUMENT_LIMITS,
) -> Any:
    """Parse JSON or YAML text within ``limits`` (see :mod:`lam.limits`).

    ``fast`` (big specs) tries JSON whatever the name and lets a later duplicate key win.
    """
    stripped = text.lstrip()
    try:
        if stripped.startswith(("{", "[")) and (fast or name.endswith(".json")):
            try:
                return load_json(text, limits)
            except json.JSONDecodeError as exc:
                if name.endswith(".json"):
                    raise error(
                        f"invalid JSON: {exc.msg}",
                        file=name,
                        location=f"line {exc.lineno}, column {exc.colno}",
                        code="syntax",
                    ) from None
        return load_yaml(text, limits, unique_keys=not fast)
    except OverLimit as exc:
        where = exc.location if isinstance(exc.location, str | None) else format_path(exc.location)
        raise error(exc.message, file=name, location=where, code=exc.code) from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else None
        problem = exc.problem or exc.context or "invalid YAML"
        raise error(f"invalid YAML: {problem}", file=name, location=where, code="syntax") from None
    except yaml.reader.ReaderError as exc:
        line = text.count("\n", 0, exc.position) + 1
        raise error(
            f"invalid YAML: character {exc.character!r} is not allowed",
            file=name,
            location=f"line {line}",
            code="syntax",
        ) from None
    except yaml.YAMLError as exc:
        raise error(f"invalid YAML: {exc}", file=name, code="syntax") from None


def load_document(
    path: Path,
    *,
    error: type[DocumentError] = DocumentError,
    max_bytes: int = MAX_DOCUMENT_BYTES,
    limits: Limits = DOCUMENT_LIMITS,
) -> Any:
    """Read and parse one YAML or JSON file; files over ``max_bytes`` are refused unread."""
    return parse_text(
        read_text(path, error=error, max_bytes=max_bytes),
        name=str(path),
        error=error,
        limits=limits,
    )


def format_path(parts: Iterable[str | int]) -> str:
    """``["steps", 3, "params", "petId"]`` -> ``steps[3].params.petId``.

    A key longer than 80 characters is shortened: the path is for a person to find the place.
    """
    out = ""
    for part in parts:
        if isinstance(part, str) and len(part) > 80:
            part = part[:77] + "..."
        if isinstance(part, str) and not part.isprintable():
            part = repr(part)[1:-1]  # a key holding ESC must not drive the terminal
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
        message = _message(err)
        if len(message) > _MAX_MESSAGE:  # jsonschema quotes the whole value, however big
            message = f"{message[:_MAX_MESSAGE]}... ({len(message):,} characters)"
        found.append((format_path(err.absolute_path), message))
    return found


_MAX_MESSAGE = 300


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
        shown = ", ".join(repr(key)[:60] for key in extra[:5])
        more = f" and {len(extra) - 5:,} more" if len(extra) > 5 else ""
        return f"unknown key {shown}{more} (allowed: {allowed})"
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
