"""A plan's API steps as an OpenAPI Arazzo 1.0 workflow document.

Mapping (plan -> Arazzo): ``apis`` -> ``sourceDescriptions`` (type openapi); ``inputs`` -> the
workflow's ``inputs`` object schema; each ``call`` -> a step with ``operationId`` (qualified
as ``$sourceDescriptions.NAME.ID`` when there are several sources) or ``operationPath``
(``{$sourceDescriptions.NAME.url}#/paths/~1pets~1{petId}/get``); ``params`` -> ``parameters``
with ``in`` taken from the spec; ``body``/``content_type`` -> ``requestBody``;
``expect.status`` -> ``successCriteria`` (``$statusCode == 200``), followed by the step's own
``successCriteria``; ``onSuccess``/``onFailure`` -> the same (they are Arazzo's); ``max_step_runs``
-> the workflow's ``x-lam-max-step-runs``; ``expect.body``/``headers`` -> the extension
``x-lam-expect``; ``outputs`` -> ``outputs``. Runtime expressions are Arazzo's own, so they are
copied unchanged. UI steps have no Arazzo form and are left out (a ``goto`` to one is a
PlanError: the exported workflow would jump to a step it lacks).
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from lam import json_pointer
from lam.errors import PlanError
from lam.plans import ApiStep, Plan

__all__ = ["ARAZZO_VERSION", "relocate", "to_arazzo"]

ARAZZO_VERSION = "1.0.1"


def relocate(spec: str, source_dir: Path, target_dir: Path) -> str:
    """A spec reference relative to ``source_dir`` rewritten relative to ``target_dir``."""
    if "://" in spec or Path(spec).is_absolute():
        return spec
    absolute = os.path.abspath(source_dir / spec)  # not resolve(): keep symlinked spec paths
    return Path(os.path.relpath(absolute, os.path.abspath(target_dir))).as_posix()


def to_arazzo(plan: Plan, *, out_dir: Path | None = None) -> tuple[dict[str, Any], list[str]]:
    """(the Arazzo document, the ids of UI steps left out). No API step is a PlanError."""
    api_steps = [s for s in plan.steps if isinstance(s, ApiStep)]
    if not api_steps:
        raise PlanError(
            "the plan has no API steps to export to Arazzo", file=plan.file, code="no-api-steps"
        )
    plan_dir = plan.path.parent if plan.path else Path.cwd()
    sources = [
        {
            "name": name,
            "url": relocate(api.spec, plan_dir, out_dir or plan_dir),
            "type": "openapi",
        }
        for name, api in plan.apis.items()
    ]
    raw_steps = {s["id"]: s for s in plan.document.get("steps", [])}
    steps = [_step(step, raw_steps[step.id], plan, len(sources) > 1) for step in api_steps]
    # Arazzo ids are [A-Za-z0-9_-]+; plan names are free text
    workflow: dict[str, Any] = {"workflowId": re.sub(r"[^A-Za-z0-9_\-]+", "-", plan.name)}
    if plan.description:
        workflow["description"] = plan.description.strip()
    if plan.inputs:
        workflow["inputs"] = {"type": "object", "properties": _plain(plan.inputs)}
    if plan.max_step_runs is not None:
        workflow["x-lam-max-step-runs"] = plan.max_step_runs
    kept = {s.id for s in api_steps}
    for step in api_steps:
        for action in (*step.on_success, *step.on_failure):
            if action.step_id is not None and action.step_id not in kept:
                raise PlanError(
                    f"step {step.id!r} goes to {action.step_id!r}, a UI step Arazzo cannot hold",
                    file=plan.file,
                    location=step.place,
                    code="goto-ui-step",
                )
    workflow["steps"] = steps
    info: dict[str, Any] = {"title": plan.name, "version": "1.0.0"}
    if plan.description:
        info["description"] = plan.description.strip()
    document = {
        "arazzo": ARAZZO_VERSION,
        "info": info,
        "sourceDescriptions": sources,
        "workflows": [workflow],
    }
    skipped = [s.id for s in plan.steps if s.kind != "api"]
    return document, skipped


def _plain(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def _step(step: ApiStep, raw: Mapping[str, Any], plan: Plan, qualify: bool) -> dict[str, Any]:
    api_name = step.api_name
    ref = step.operation_ref
    operation = _operation(plan, api_name, ref, step)
    out: dict[str, Any] = {"stepId": step.id}
    if step.description:
        out["description"] = step.description
    if " " not in ref:
        out["operationId"] = f"$sourceDescriptions.{api_name}.{ref}" if qualify else ref
    else:
        method, _, path = ref.partition(" ")
        out["operationPath"] = (
            f"{{$sourceDescriptions.{api_name}.url}}#/paths/{json_pointer.escape(path.strip())}"
            f"/{method.lower()}"
        )
    locations = {p.name: p.location for p in operation.parameters} if operation else {}
    params = raw.get("params") or {}
    if params:
        out["parameters"] = [
            {"name": name, "in": locations.get(name) or _guess_in(name), "value": _plain(value)}
            for name, value in params.items()
        ]
    if "body" in raw:
        body: dict[str, Any] = {"payload": _plain(raw["body"])}
        if raw.get("content_type"):
            body = {"contentType": raw["content_type"], **body}
        out["requestBody"] = body
    expect = dict(raw.get("expect") or {})
    status = expect.pop("status", None)
    criteria: list[Any] = []
    if status is not None:
        codes = status if isinstance(status, list) else [status]
        criteria.append({"condition": " || ".join(f"$statusCode == {int(c)}" for c in codes)})
    criteria += _plain(raw.get("successCriteria") or [])
    if criteria:
        out["successCriteria"] = criteria
    if expect:
        out["x-lam-expect"] = _plain(expect)
    if raw.get("outputs"):
        out["outputs"] = _plain(raw["outputs"])
    for key in ("onSuccess", "onFailure"):
        if raw.get(key):
            out[key] = _plain(raw[key])
    return out


_HEADERS = frozenset({"authorization", "accept", "accept-language", "content-type", "cookie"})


def _guess_in(name: str) -> str:
    """Where a parameter the spec does not declare goes (lam sends those as headers too)."""
    lowered = name.lower()
    return "header" if lowered in _HEADERS or lowered.startswith("x-") else "query"


def _operation(plan: Plan, api_name: str, ref: str, step: ApiStep) -> Any:
    """The spec's operation, for parameter locations; None when the spec cannot be read."""
    from lam.errors import SpecError
    from lam.spec import load_spec

    api = plan.apis.get(api_name)
    if api is None:
        raise PlanError(f"no api named {api_name!r}", file=plan.file, location=f"{step.place}.call")
    try:
        spec = load_spec(api.spec_source)
    except SpecError:
        return None
    return spec.find(ref)
