"""An OpenAPI Arazzo 1.0 workflow read into a plan (the reverse of :mod:`lam.export.arazzo`).

One workflow becomes one plan: its ``inputs`` properties become plan inputs, each step with an
``operationId`` or ``operationPath`` becomes a ``call``, ``parameters`` become ``params``,
``requestBody`` becomes ``body``/``content_type``, ``$statusCode == N`` criteria become
``expect.status``, ``x-lam-expect`` is merged into ``expect``, ``outputs`` are copied.
What a plan cannot say (other criteria, ``onSuccess``/``onFailure`` jumps) is reported back
as notes, never silently dropped. Steps that run another workflow are refused.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from lam import json_pointer
from lam.documents import load_document
from lam.errors import DocumentError
from lam.export.arazzo import relocate

__all__ = ["from_arazzo", "load_arazzo"]

_STATUS = re.compile(r"^\s*\$statusCode\s*==\s*(\d{3})\s*$")
_SOURCE_ID = re.compile(r"^\$sourceDescriptions\.([A-Za-z0-9_\-]+)\.(.+)$")
_SOURCE_PATH = re.compile(
    r"^\{\$sourceDescriptions\.([A-Za-z0-9_\-]+)\.url\}#/paths/([^/]+)/([A-Za-z]+)$"
)


class _Where:
    def __init__(self, file: str) -> None:
        self.file = file

    def error(self, message: str, location: str) -> DocumentError:
        return DocumentError(message, file=self.file, location=location, code="arazzo")


def load_arazzo(
    path: Path | str, *, workflow: str | None = None, out_dir: Path | None = None
) -> tuple[dict[str, Any], list[str]]:
    """Read an Arazzo file; return (the plan document, notes on what did not carry over)."""
    path = Path(path)
    document = load_document(path, error=DocumentError)
    return from_arazzo(
        document,
        file=str(path),
        workflow=workflow,
        base=path.parent,
        out_dir=out_dir or path.parent,
    )


def from_arazzo(
    document: Any,
    *,
    file: str = "<arazzo>",
    workflow: str | None = None,
    base: Path | None = None,
    out_dir: Path | None = None,
) -> tuple[dict[str, Any], list[str]]:
    """An Arazzo document (parsed) -> (plan document, notes)."""
    where = _Where(file)
    if not isinstance(document, Mapping) or not str(document.get("arazzo", "")).startswith("1."):
        raise where.error("not an Arazzo 1.x document (no 'arazzo: 1.0.x')", "arazzo")
    sources = document.get("sourceDescriptions") or []
    if not isinstance(sources, list) or not sources:
        raise where.error("an Arazzo document needs sourceDescriptions", "sourceDescriptions")
    apis: dict[str, Any] = {}
    for i, source in enumerate(sources):
        if not isinstance(source, Mapping) or "name" not in source or "url" not in source:
            raise where.error("each source needs a name and a url", f"sourceDescriptions[{i}]")
        if source.get("type", "openapi") != "openapi":
            continue
        url = str(source["url"])
        if base is not None and out_dir is not None:
            url = relocate(url, base, out_dir)
        apis[str(source["name"])] = {"spec": url}
    flow, index = _pick(document.get("workflows"), workflow, where)
    place = f"workflows[{index}]"
    notes: list[str] = []
    plan: dict[str, Any] = {"lam": 1, "name": str(flow["workflowId"])}
    text = flow.get("description") or flow.get("summary")
    if text:
        plan["description"] = str(text)
    inputs = _inputs(flow.get("inputs"), document, where, place)
    if inputs:
        plan["inputs"] = inputs
    plan["apis"] = apis
    default_source = next(iter(apis)) if len(apis) == 1 else None
    steps = flow.get("steps")
    if not isinstance(steps, list) or not steps:
        raise where.error("a workflow needs steps", f"{place}.steps")
    plan["steps"] = [
        _step(raw, f"{place}.steps[{i}]", default_source, where, notes)
        for i, raw in enumerate(steps)
    ]
    return plan, notes


def _pick(workflows: Any, wanted: str | None, where: _Where) -> tuple[Mapping[str, Any], int]:
    if not isinstance(workflows, list) or not workflows:
        raise where.error("the document has no workflows", "workflows")
    ids = [str(w.get("workflowId")) for w in workflows if isinstance(w, Mapping)]
    if wanted is None:
        if len(workflows) > 1:
            raise where.error(
                f"{len(workflows)} workflows ({', '.join(ids)}): pick one with --workflow",
                "workflows",
            )
        return workflows[0], 0
    for i, flow in enumerate(workflows):
        if isinstance(flow, Mapping) and flow.get("workflowId") == wanted:
            return flow, i
    raise where.error(f"no workflow {wanted!r} (workflows: {', '.join(ids)})", "workflows")


def _inputs(raw: Any, document: Mapping[str, Any], where: _Where, place: str) -> dict[str, Any]:
    if raw is None:
        return {}
    if isinstance(raw, Mapping) and "$ref" in raw:
        ref = str(raw["$ref"])
        target: Any = document
        for part in ref.removeprefix("#/").split("/"):
            target = target.get(part) if isinstance(target, Mapping) else None
        if not isinstance(target, Mapping):
            raise where.error(f"inputs $ref {ref!r} does not resolve", f"{place}.inputs")
        raw = target
    properties = raw.get("properties") if isinstance(raw, Mapping) else None
    return {str(k): dict(v) for k, v in (properties or {}).items()}


def _step(
    raw: Any, place: str, default_source: str | None, where: _Where, notes: list[str]
) -> dict[str, Any]:
    if not isinstance(raw, Mapping) or "stepId" not in raw:
        raise where.error("a step needs a stepId", place)
    step: dict[str, Any] = {"id": str(raw["stepId"])}
    if raw.get("description"):
        step["description"] = str(raw["description"])
    step["call"] = _call(raw, place, default_source, where)
    params = {}
    for i, param in enumerate(raw.get("parameters") or []):
        if not isinstance(param, Mapping) or "name" not in param:
            raise where.error("a parameter needs a name (reusable references are not read)",
                              f"{place}.parameters[{i}]")  # fmt: skip
        params[str(param["name"])] = param.get("value")
    if params:
        step["params"] = params
    body = raw.get("requestBody")
    if isinstance(body, Mapping):
        if body.get("contentType"):
            step["content_type"] = str(body["contentType"])
        if "payload" in body:
            step["body"] = body["payload"]
        if body.get("replacements"):
            notes.append(f"{place}.requestBody.replacements: not carried over")
    expect: dict[str, Any] = {}
    codes: list[int] = []
    for i, criterion in enumerate(raw.get("successCriteria") or []):
        condition = str(criterion.get("condition", "")) if isinstance(criterion, Mapping) else ""
        kind = criterion.get("type", "simple") if isinstance(criterion, Mapping) else "simple"
        found = [_STATUS.match(part) for part in condition.split("||")]
        if kind == "simple" and found and all(found):
            codes.extend(int(m.group(1)) for m in found if m)
        else:
            notes.append(f"{place}.successCriteria[{i}]: {condition!r} is not checked by lam")
    if codes:
        expect["status"] = codes[0] if len(codes) == 1 else codes
    expect.update(raw.get("x-lam-expect") or {})
    if expect:
        step["expect"] = expect
    if raw.get("outputs"):
        step["outputs"] = dict(raw["outputs"])
    for key in ("onSuccess", "onFailure"):
        if raw.get(key):
            notes.append(f"{place}.{key}: lam runs steps in order; the actions were left out")
    return step


def _call(raw: Mapping[str, Any], place: str, default_source: str | None, where: _Where) -> str:
    if "workflowId" in raw:
        raise where.error("steps that run another workflow are not supported", place)
    if "operationId" in raw:
        ref = str(raw["operationId"])
        match = _SOURCE_ID.match(ref)
        if match:
            return f"{match.group(1)}.{match.group(2)}"
        if default_source is None:
            raise where.error(
                "with several sources, write $sourceDescriptions.NAME.operationId",
                f"{place}.operationId",
            )
        return f"{default_source}.{ref}"
    if "operationPath" in raw:
        match = _SOURCE_PATH.match(str(raw["operationPath"]))
        if not match:
            raise where.error(
                "operationPath must read {$sourceDescriptions.NAME.url}#/paths/PATH/METHOD",
                f"{place}.operationPath",
            )
        path = json_pointer.unescape(match.group(2))
        return f"{match.group(1)} {match.group(3).upper()} {path}"
    raise where.error("a step needs operationId or operationPath", place)
