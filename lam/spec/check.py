"""The full validation of an OpenAPI document, run once per content hash and cached.

This is the slow check (openapi-spec-validator walks the whole document against the OpenAPI
meta-schema), so :func:`lam.spec.load_spec` never runs it; ``lam spec check`` does.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lam.documents import format_path
from lam.errors import SpecError
from lam.spec.cache import read_entry, write_entry

__all__ = ["SpecProblem", "check_spec"]


@dataclass(frozen=True)
class SpecProblem:
    """One problem in a spec: where (``paths./pets.get.responses``) and what."""

    location: str
    message: str


def check_spec(source: str | Path, *, relative_to: Path | None = None) -> list[SpecProblem]:
    """Every problem of the spec at ``source``; an empty list when it is valid.

    A spec that cannot be loaded at all gives its load error as the one problem, except a
    missing file, which raises SpecError(code="not-found").
    """
    from lam.spec import load_spec

    try:
        spec = load_spec(source, relative_to=relative_to)
    except SpecError as exc:
        if exc.code == "not-found":
            raise
        return [SpecProblem(exc.location or "(top level)", exc.message)]
    cached = read_entry(spec.content_hash, "check")
    if isinstance(cached, list) and all(
        isinstance(p, list) and len(p) == 2 and all(isinstance(x, str) for x in p) for p in cached
    ):
        return [SpecProblem(p[0], p[1]) for p in cached]
    problems = _validate(spec.document, spec.openapi)
    write_entry(spec.content_hash, "check", [[p.location, p.message] for p in problems])
    return problems


def _validate(document: Any, openapi: str) -> list[SpecProblem]:
    from openapi_spec_validator import OpenAPIV30SpecValidator, OpenAPIV31SpecValidator

    cls: Any = OpenAPIV31SpecValidator if openapi.startswith("3.1") else OpenAPIV30SpecValidator
    problems: list[SpecProblem] = []
    try:
        errors: Iterable[Any] = list(cls(document).iter_errors())
    except RecursionError:
        return [SpecProblem("(top level)", "document is nested too deeply to validate")]
    for err in errors:
        path = [p for p in getattr(err, "path", ()) if p != "x-lam-files"]
        message = " ".join(str(getattr(err, "message", err)).split())
        if len(message) > 300:
            message = message[:297] + "..."
        problems.append(SpecProblem(format_path(path), message))
    return problems
