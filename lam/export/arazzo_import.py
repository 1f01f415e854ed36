"""An OpenAPI Arazzo 1.0 workflow read into a plan (the reverse of :mod:`lam.export.arazzo`).

One workflow becomes one plan: its ``inputs`` properties (``$ref`` to ``components.inputs``
resolved) become plan inputs; each step calling an operation becomes a ``call``
(:mod:`lam.export.arazzo_steps`: parameters, reusable ``$components.parameters``, request body,
criteria, actions); each step running another workflow is replaced by that workflow's steps
(:mod:`lam.export.arazzo_inline`). ``successCriteria`` other than ``$statusCode == N`` and the
``onSuccess``/``onFailure`` actions (``$components`` references resolved) are carried into the
plan, which runs them (:mod:`lam.runtime.flow`). What a plan cannot say is reported back as
notes, never silently dropped; a document error is one DocumentError naming file and place.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from lam.documents import load_document
from lam.errors import DocumentError
from lam.export.arazzo import relocate
from lam.export.arazzo_inline import Inliner
from lam.export.arazzo_steps import Reader

__all__ = ["from_arazzo", "input_schemas", "load_arazzo"]

_MAX_REF_DEPTH = 16


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
    """An Arazzo document (parsed) -> (plan document, notes).

    ``workflow`` picks the workflow (needed when there are several); the workflows it calls
    are inlined. Spec paths are rewritten from ``base`` (the document's folder) to
    ``out_dir`` (where the plan will be written)."""

    def error(message: str, location: str) -> DocumentError:
        return DocumentError(message, file=file, location=location, code="arazzo")

    if not isinstance(document, Mapping) or not str(document.get("arazzo", "")).startswith("1."):
        raise error("not an Arazzo 1.x document (no 'arazzo: 1.0.x')", "arazzo")
    sources = document.get("sourceDescriptions") or []
    if not isinstance(sources, list) or not sources:
        raise error("an Arazzo document needs sourceDescriptions", "sourceDescriptions")
    apis: dict[str, Any] = {}
    for i, source in enumerate(sources):
        if not isinstance(source, Mapping) or "name" not in source or "url" not in source:
            raise error("each source needs a name and a url", f"sourceDescriptions[{i}]")
        if source.get("type", "openapi") != "openapi":
            continue
        url = str(source["url"])
        if base is not None and out_dir is not None:
            url = relocate(url, base, out_dir)
        apis[str(source["name"])] = {"spec": url}
    workflows = document.get("workflows")
    index = _pick(workflows, workflow, error)
    assert isinstance(workflows, list)
    flow = workflows[index]
    reader = Reader(file, document, apis)
    plan: dict[str, Any] = {"lam": 1, "name": str(flow["workflowId"])}
    text = flow.get("description") or flow.get("summary")
    if text:
        plan["description"] = str(text).strip()
    inliner = Inliner(reader, workflows)
    inliner.inputs.update(input_schemas(flow.get("inputs"), document, error,
                                        f"workflows[{index}].inputs"))  # fmt: skip
    steps = inliner.steps(index)
    if inliner.inputs:
        plan["inputs"] = inliner.inputs
    plan["apis"] = apis
    runs = flow.get("x-lam-max-step-runs")
    if runs is not None:
        plan["max_step_runs"] = runs
    plan["steps"] = steps
    if flow.get("dependsOn"):
        reader.notes.append(f"workflows[{index}].dependsOn: {flow['dependsOn']} run first in a "
                            "mission; a plan alone does not run them")  # fmt: skip
    return plan, reader.notes


def _pick(workflows: Any, wanted: str | None, error: Any) -> int:
    if not isinstance(workflows, list) or not workflows:
        raise error("the document has no workflows", "workflows")
    ids = [str(w.get("workflowId")) for w in workflows if isinstance(w, Mapping)]
    if len(ids) != len(workflows):
        raise error("each workflow is a mapping with a workflowId", "workflows")
    if wanted is None:
        if len(workflows) > 1:
            raise error(
                f"{len(workflows)} workflows ({', '.join(ids)}): pick one with --workflow",
                "workflows",
            )
        return 0
    if wanted in ids:
        return ids.index(wanted)
    raise error(f"no workflow {wanted!r} (workflows: {', '.join(ids)})", "workflows")


def input_schemas(
    raw: Any, document: Mapping[str, Any], error: Any = None, place: str = "inputs"
) -> dict[str, Any]:
    """A workflow's ``inputs`` as plan inputs (name -> JSON Schema), local ``$ref``s (to
    ``#/components/inputs/...``) resolved, nested ones too."""

    def fail(message: str) -> DocumentError:
        if error is None:
            return DocumentError(message, location=place, code="arazzo")
        return error(message, place)  # type: ignore[no-any-return]

    resolved = _resolve(raw, document, fail, 0)
    if resolved is None:
        return {}
    properties = resolved.get("properties") if isinstance(resolved, Mapping) else None
    if properties is not None and not isinstance(properties, Mapping):
        raise fail("inputs.properties is a mapping of input names to schemas")
    return {
        str(k): dict(v) if isinstance(v, Mapping) else {} for k, v in (properties or {}).items()
    }


def _resolve(value: Any, document: Mapping[str, Any], fail: Any, depth: int) -> Any:
    if depth > _MAX_REF_DEPTH:
        raise fail(f"$ref followed by $ref more than {_MAX_REF_DEPTH} times (a loop?)")
    if isinstance(value, Mapping):
        if isinstance(value.get("$ref"), str) and value["$ref"].startswith("#/"):
            target: Any = document
            for part in value["$ref"][2:].split("/"):
                target = target.get(part) if isinstance(target, Mapping) else None
            if target is None:
                raise fail(f"$ref {value['$ref']!r} does not resolve")
            return _resolve(target, document, fail, depth + 1)
        return {k: _resolve(v, document, fail, depth) for k, v in value.items()}
    if isinstance(value, list):
        return [_resolve(v, document, fail, depth) for v in value]
    return value
