"""One Arazzo 1.0 operation step read into a plan step (used by :mod:`lam.export.arazzo_import`).

``operationId`` / ``operationPath`` -> ``call``; ``parameters`` (the workflow's, then the
step's, ``$components.parameters`` references resolved with their ``value`` override) ->
``params``; ``requestBody`` -> ``body``/``content_type`` (a JSON text payload is parsed, and a
string that is one ``{$expression}`` becomes that expression, so it keeps its type);
``$statusCode == N`` criteria -> ``expect.status``, every other criterion kept as
``successCriteria``; ``onSuccess``/``onFailure`` (``$components`` references resolved) kept;
``outputs`` copied. A document error is a DocumentError naming the file and the place.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from lam import json_pointer
from lam.criteria import CriterionError, parse_criterion
from lam.errors import DocumentError

__all__ = ["Reader", "operation_step"]

_STATUS = re.compile(r"^\s*\$statusCode\s*==\s*(\d{3})\s*$")
_SOURCE_ID = re.compile(r"^\$sourceDescriptions\.([A-Za-z0-9_\-]+)\.(.+)$")
_SOURCE_PATH = re.compile(r"^\{\$sourceDescriptions\.([A-Za-z0-9_\-]+)\.url\}#(/paths/.*)$")
_METHODS = frozenset({"get", "put", "post", "delete", "options", "head", "patch", "trace"})
_WHOLE = re.compile(r"^\{(\$[^{}]+)\}$")


@dataclass
class Reader:
    """What reading one document needs: where errors point, its sources, its components, and
    the notes on what did not carry over."""

    file: str
    document: Mapping[str, Any]
    apis: Mapping[str, Any]  # source name -> plan api declaration
    notes: list[str] = field(default_factory=list)

    def error(self, message: str, location: str) -> DocumentError:
        return DocumentError(message, file=self.file, location=location, code="arazzo")

    def component(self, ref: Any, kind: str, place: str) -> Mapping[str, Any]:
        """``$components.<kind>.NAME`` resolved, or a DocumentError naming ``place``."""
        prefix = f"$components.{kind}."
        if not isinstance(ref, str) or not ref.startswith(prefix):
            raise self.error(f"a reference here reads {prefix}NAME, not {ref!r}", place)
        name = ref[len(prefix) :]
        components = self.document.get("components")
        found = components.get(kind, {}).get(name) if isinstance(components, Mapping) else None
        if not isinstance(found, Mapping):
            raise self.error(f"{ref}: components.{kind} has no {name!r}", place)
        return found


def operation_step(
    raw: Mapping[str, Any], place: str, reader: Reader, shared: list[Any]
) -> dict[str, Any]:
    """An Arazzo step that calls an operation -> a plan step. ``shared`` are the workflow's
    own ``parameters`` (each step gets them unless it sets the same name)."""
    step: dict[str, Any] = {"id": str(raw["stepId"])}
    if raw.get("description"):
        step["description"] = str(raw["description"])
    step["call"] = _call(raw, place, reader)
    params = parameters(shared, "parameters", reader, place_of_shared=True)
    params.update(parameters(raw.get("parameters") or [], f"{place}.parameters", reader))
    if params:
        step["params"] = {name: value for name, (_, value) in params.items()}
    body = raw.get("requestBody")
    if isinstance(body, Mapping):
        if body.get("contentType"):
            step["content_type"] = str(body["contentType"])
        if "payload" in body:
            step["body"] = _payload(body["payload"], str(body.get("contentType") or ""))
        if body.get("replacements"):
            reader.notes.append(f"{place}.requestBody.replacements: not carried over")
    step.update(criteria(raw.get("successCriteria"), f"{place}.successCriteria", reader))
    step["expect"] = {**step.get("expect", {}), **(raw.get("x-lam-expect") or {})}
    if not step["expect"]:
        del step["expect"]
    if raw.get("outputs"):
        step["outputs"] = dict(raw["outputs"])
    step.update(actions(raw, place, reader))
    return step


def parameters(
    raw: Any, place: str, reader: Reader, *, place_of_shared: bool = False
) -> dict[str, tuple[str | None, Any]]:
    """Parameters by name -> (in, value), references resolved (a reference's ``value``
    overrides the component's)."""
    where = "workflow parameters" if place_of_shared else place
    if not isinstance(raw, list):
        raise reader.error("parameters is a list", where)
    found: dict[str, tuple[str | None, Any]] = {}
    for i, param in enumerate(raw):
        at = f"{where}[{i}]"
        if isinstance(param, Mapping) and "reference" in param:
            resolved = dict(reader.component(param["reference"], "parameters", f"{at}.reference"))
            if "value" in param:
                resolved["value"] = param["value"]
            param = resolved
        if not isinstance(param, Mapping) or "name" not in param:
            raise reader.error("a parameter needs a name", at)
        name = str(param["name"])
        location = param.get("in")
        if name in found and found[name][0] != location and found[name][0] is not None:
            reader.notes.append(f"{at}: {name!r} is set in two places; lam sends it by its "
                                "spec's location")  # fmt: skip
        found[name] = (location, param.get("value"))
    return found


def criteria(raw: Any, place: str, reader: Reader, *, keep_status: bool = False) -> dict[str, Any]:
    """``$statusCode == N`` criteria as ``expect.status`` (unless ``keep_status``), the rest
    as ``successCriteria``, each checked (a malformed one is a DocumentError)."""
    if raw is None:
        return {}
    if not isinstance(raw, list):
        raise reader.error("successCriteria is a list of Criterion objects", place)
    codes: list[int] = []
    kept: list[Any] = []
    for i, criterion in enumerate(raw):
        try:
            parse_criterion(criterion)
        except CriterionError as exc:
            raise reader.error(exc.message, f"{place}[{i}]") from None
        condition = str(criterion.get("condition", ""))
        found = [_STATUS.match(part) for part in condition.split("||")]
        simple = criterion.get("type", "simple") == "simple" and "context" not in criterion
        if simple and all(found) and not keep_status:
            codes.extend(int(m.group(1)) for m in found if m)
        else:
            kept.append(dict(criterion))
    out: dict[str, Any] = {}
    if codes:
        out["expect"] = {"status": codes[0] if len(codes) == 1 else codes}
    if kept:
        out["successCriteria"] = kept
    return out


def actions(raw: Mapping[str, Any], place: str, reader: Reader) -> dict[str, Any]:
    """``onSuccess``/``onFailure`` with ``$components`` references resolved."""
    out: dict[str, Any] = {}
    for key, kind in (("onSuccess", "successActions"), ("onFailure", "failureActions")):
        listed = raw.get(key)
        if listed is None:
            continue
        if not isinstance(listed, list):
            raise reader.error(f"{key} is a list of actions", f"{place}.{key}")
        resolved = []
        for i, action in enumerate(listed):
            at = f"{place}.{key}[{i}]"
            if isinstance(action, Mapping) and "reference" in action:
                action = reader.component(action["reference"], kind, f"{at}.reference")
            if not isinstance(action, Mapping):
                raise reader.error("an action is a mapping", at)
            if action.get("workflowId") is not None:
                raise reader.error(
                    f"{action.get('type')} to workflow {action['workflowId']!r}: a plan's "
                    "actions stay within its own steps (run the workflows as a mission)",
                    f"{at}.workflowId",
                )
            resolved.append(dict(action))
        if resolved:
            out[key] = resolved
    return out


def _call(raw: Mapping[str, Any], place: str, reader: Reader) -> str:
    default = next(iter(reader.apis)) if len(reader.apis) == 1 else None
    if "operationId" in raw:
        ref = str(raw["operationId"])
        match = _SOURCE_ID.match(ref)
        if match:
            if match.group(1) not in reader.apis:
                raise reader.error(
                    f"{ref}: no OpenAPI source named {match.group(1)!r}", f"{place}.operationId"
                )
            return f"{match.group(1)}.{match.group(2)}"
        if default is None:
            raise reader.error(
                "with several sources, write $sourceDescriptions.NAME.operationId",
                f"{place}.operationId",
            )
        return f"{default}.{ref}"
    if "operationPath" in raw:
        text = str(raw["operationPath"])
        match = _SOURCE_PATH.match(text)
        if not match:
            raise reader.error(
                "operationPath must read {$sourceDescriptions.NAME.url}#/paths/PATH/METHOD",
                f"{place}.operationPath",
            )
        tokens = json_pointer.parse(match.group(2))
        if len(tokens) == 2:
            raise reader.error(
                f"operationPath points at the path item {tokens[1]!r}, not at an operation "
                f"(add its method: ...#/paths/{json_pointer.escape(tokens[1])}/get)",
                f"{place}.operationPath",
            )
        if len(tokens) != 3 or tokens[2].lower() not in _METHODS:
            raise reader.error(
                "operationPath must end with /paths/PATH/METHOD", f"{place}.operationPath"
            )
        if match.group(1) not in reader.apis:
            raise reader.error(
                f"no OpenAPI source named {match.group(1)!r}", f"{place}.operationPath"
            )
        return f"{match.group(1)} {tokens[2].upper()} {tokens[1]}"
    raise reader.error("a step needs operationId, operationPath or workflowId", place)


def _payload(payload: Any, content_type: str) -> Any:
    """A JSON text payload as the value it writes, so lam sends (and checks) JSON, not a
    string; ``"{$inputs.x}"`` alone in a string becomes ``$inputs.x`` (keeps its type)."""
    if isinstance(payload, str) and (not content_type or "json" in content_type):
        try:
            payload = json.loads(payload)
        except ValueError:
            return payload
    return _whole(payload)


def _whole(value: Any) -> Any:
    if isinstance(value, str):
        match = _WHOLE.match(value.strip())
        return match.group(1) if match else value
    if isinstance(value, Mapping):
        return {k: _whole(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_whole(v) for v in value]
    return value
