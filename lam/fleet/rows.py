"""Rows of a batch: a CSV or JSONL file read into typed input values, checked before anything
runs.

Each column (CSV header, JSONL key) is one of the plan's inputs and is typed by that input's
schema exactly as ``--input NAME=VALUE`` is (:func:`lam.runtime.inputs.coerce_input`): a CSV
cell ``3`` for an integer input is the number 3. A missing column (an input with no default),
an unknown column, a row with the wrong number of fields, a value off its input's schema or a
line that is not a JSON object is a :class:`~lam.errors.UsageError` naming ``file:line`` and
the column (exit 2): the whole file is checked first, so a bad row 150 stops the batch before
row 1 runs.
"""

from __future__ import annotations

import csv
import hashlib
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lam.errors import UsageError
from lam.runtime.inputs import coerce_input, input_problem

__all__ = ["Row", "read_rows", "row_key"]

_FORMATS = {".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl"}
MAX_ROWS = 1_000_000  # a bound on what is held in memory; a bigger batch is split by the operator


@dataclass(frozen=True)
class Row:
    """One row: its number (1 = the first data row), the file line it starts on, a key that
    names it for resume (its number and a digest of its values), and its typed values."""

    number: int
    line: int
    key: str
    values: dict[str, Any] = field(default_factory=dict)


def row_key(number: int, values: Mapping[str, Any]) -> str:
    """``<number>-<digest>``: a row edited between two runs of a batch is a new row."""
    text = json.dumps(values, sort_keys=True, separators=(",", ":"), default=str)
    return f"{number}-{hashlib.sha256(text.encode()).hexdigest()[:12]}"


def read_rows(path: Path, plan_inputs: Mapping[str, Mapping[str, Any]]) -> list[Row]:
    """Every row of ``path`` (``.csv`` with a header line, or ``.jsonl``: one JSON object a
    line, blank lines skipped), typed and checked against ``plan_inputs`` (name -> schema)."""
    kind = _FORMATS.get(path.suffix.lower())
    if kind is None:
        raise UsageError(
            "--inputs: give a .csv or .jsonl file", file=str(path), code="bad-inputs-file"
        )
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise UsageError("--inputs: no such file", file=str(path), code="usage") from None
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else "not UTF-8 text"
        raise UsageError(f"--inputs: cannot read it: {reason}", file=str(path)) from None
    raw = _csv(path, text, plan_inputs) if kind == "csv" else _jsonl(path, text)
    rows = []
    for number, (line, given) in enumerate(raw, start=1):
        if number > MAX_ROWS:
            raise UsageError(f"more than {MAX_ROWS:,} rows: split the file", file=str(path))
        values = _typed(path, line, given, plan_inputs)
        rows.append(Row(number, line, row_key(number, values), values))
    if not rows:
        raise UsageError("--inputs: the file has no rows", file=str(path), code="no-rows")
    return rows


def _csv(
    path: Path, text: str, inputs: Mapping[str, Mapping[str, Any]]
) -> Iterator[tuple[int, dict[str, Any]]]:
    reader = csv.reader(text.splitlines(keepends=True), strict=True)
    try:
        header = next(reader, None)
        if header is None:
            return
        names = [name.strip() for name in header]
        for index, name in enumerate(names):
            if not name:
                raise _at(path, 1, f"column {index + 1} has no name in the header line")
            if name in names[:index]:
                raise _at(path, 1, f"column {name!r} appears twice in the header line")
        _check_columns(path, names, inputs)  # the header names the columns: said at line 1
        for cells in reader:
            line = reader.line_num
            if not cells or (len(cells) == 1 and not cells[0].strip()):
                continue  # a blank line
            if len(cells) != len(names):
                raise _at(
                    path, line,
                    f"{len(cells)} fields, the header has {len(names)} ({', '.join(names)})",
                )  # fmt: skip
            yield line, dict(zip(names, cells, strict=True))
    except csv.Error as exc:
        raise _at(path, reader.line_num, f"not valid CSV: {exc}") from None


def _jsonl(path: Path, text: str) -> Iterator[tuple[int, dict[str, Any]]]:
    from lam.limits import DOCUMENT_LIMITS, OverLimit, load_json

    for line, content in enumerate(text.splitlines(), start=1):
        if not content.strip():
            continue
        try:
            value = load_json(content, DOCUMENT_LIMITS)
        except json.JSONDecodeError as exc:
            raise _at(path, line, f"not a JSON line: {exc.msg} at column {exc.colno}") from None
        except OverLimit as exc:
            raise _at(path, line, exc.message) from None
        if not isinstance(value, dict):
            raise _at(path, line, f"a JSON object is needed, not {type(value).__name__}")
        yield line, value


def _check_columns(path: Path, names: list[str], inputs: Mapping[str, Mapping[str, Any]]) -> None:
    for name in names:
        if name not in inputs:
            known = ", ".join(sorted(inputs)) or "none"
            raise _at(path, 1, f"column {name!r}: the plan has no such input (inputs: {known})")
    for name, schema in inputs.items():
        if name not in names and "default" not in schema:
            raise _at(path, 1, f"column {name!r} is missing: the input has no default")


def _typed(
    path: Path, line: int, given: Mapping[str, Any], inputs: Mapping[str, Mapping[str, Any]]
) -> dict[str, Any]:
    unknown = sorted(set(given) - set(inputs))
    if unknown:
        known = ", ".join(sorted(inputs)) or "none"
        raise _at(
            path, line, f"column {unknown[0]!r}: the plan has no such input (inputs: {known})"
        )
    values: dict[str, Any] = {}
    for name, schema in inputs.items():
        if name not in given:
            if "default" in schema:
                continue  # the plan's default applies, as with --input
            raise _at(path, line, f"column {name!r} is missing: the input has no default")
        try:
            value = coerce_input(name, given[name], schema)
        except UsageError as exc:
            raise _at(path, line, f"column {name!r}: {exc.message}") from None
        problem = input_problem(value, schema)
        if problem is not None:
            raise _at(path, line, f"column {name!r}: {problem}")
        values[name] = value
    return values


def _at(path: Path, line: int, message: str) -> UsageError:
    return UsageError(message, file=f"{path}:{line}", code="bad-row")
