"""Recorded events -> a plan document (a recording IS a plan), and writing it as YAML.

Each UI target gets the most robust locator that was unique on the page as its hints, the
others as ``candidates`` (best first), and a ``fingerprint`` of the element. The recording
names its app by the start URL's origin and base path (``apps: {app: {url: ...}}``) and writes
its gotos as ``app:PATH``, so ``--app app=URL`` moves it to another instance.

Values typed into password fields are never written: the step's value becomes
``$secrets.NAME`` (NAME from the field's label or name, e.g. ``PASSWORD``), read from the
environment at run time.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml

from lam.adapters.browser.snapshot import ElementInfo, elements_from_json
from lam.errors import RecordingError, UsageError
from lam.plans import parse_plan
from lam.recording.params import parameterize

__all__ = [
    "APP_NAME",
    "app_base",
    "app_path",
    "dump_plan",
    "events_to_plan",
    "settle_drafts",
    "write_recording",
]

APP_NAME = "app"
_ORDER = "drlpt"  # testid, role+name, label, placeholder, text: most robust first


def app_base(url: str) -> str:
    """The app's root for a start URL: origin plus the path up to its last ``/``."""
    parts = urlsplit(url)
    path = parts.path or "/"
    return f"{parts.scheme}://{parts.netloc}{path[: path.rfind('/') + 1]}"


def app_path(url: str, base: str) -> str:
    """``app:/PATH`` for a URL under ``base``; other URLs stay as they are."""
    if url.startswith(base):
        return f"{APP_NAME}:/{url[len(base) :]}"
    return url


def events_to_plan(
    events: Sequence[Mapping[str, Any]],
    *,
    start_url: str,
    name: str,
    params: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """The plan document for a list of recorder events (in the order they happened)."""
    base = app_base(start_url)
    steps: list[dict[str, Any]] = []
    ids: set[str] = set()
    for event in settle_drafts(events):
        step = _step(event, base)
        if step is None:
            continue
        if steps and _same_field(steps[-1], step):
            steps[-1] = {**step, "id": steps[-1]["id"]}  # a field typed into twice: keep last
            continue
        step["id"] = _unique_id(_base_id(step), ids)
        steps.append({"id": step.pop("id"), **step})
    document: dict[str, Any] = {
        "lam": 1,
        "name": name,
        "description": f"Recorded on {start_url}",
    }
    literal_inputs = _literal_inputs(steps)
    if literal_inputs:
        document["inputs"] = literal_inputs
    document["apps"] = {APP_NAME: {"url": base}}
    document["steps"] = steps
    return parameterize(document, params or {}) if params else document


def settle_drafts(events: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """Events with each field's drafts resolved: a draft that a fill of the same field
    follows is dropped; one that none follows (the window closed mid-typing) becomes a fill
    where the typing began, with the last value sent."""
    settled: list[Mapping[str, Any] | None] = []
    pending: dict[tuple[Any, ...], int] = {}
    for event in events:
        kind = event.get("type")
        if kind not in ("draft", "fill"):
            settled.append(event)
            continue
        key = _field_key(event)
        if kind == "fill":
            if key in pending:
                settled[pending.pop(key)] = None
            settled.append(event)
        elif key in pending:
            settled[pending[key]] = {**event, "type": "fill"}
        else:
            pending[key] = len(settled)
            settled.append({**event, "type": "fill"})
    return [e for e in settled if e is not None]


def _field_key(event: Mapping[str, Any]) -> tuple[Any, ...]:
    try:
        css = json.loads(str(event.get("el")))["items"][0]["css"]
    except (ValueError, KeyError, IndexError, TypeError):
        css = None
    return (*(event.get("frame") or ()), css)


def _step(event: Mapping[str, Any], base: str) -> dict[str, Any] | None:
    kind = event.get("type")
    if kind == "goto":
        return {"goto": app_path(str(event["value"]), base)}
    if kind == "press" and "el" not in event:
        return {"press": str(event["value"])}
    if kind not in ("click", "fill", "select", "check", "uncheck", "press", "upload"):
        return None
    element = elements_from_json(str(event["el"]), frame=event.get("frame") or ())[0]
    step: dict[str, Any] = {kind: target(element, event)}
    if kind == "fill":
        step["value"] = (
            f"$secrets.{_secret_name(element, event)}"
            if event.get("secret")
            else _literal(str(event.get("value", "")))
        )
    elif kind in ("select", "press", "upload"):
        step["value"] = event.get("value")
    return step


def target(element: ElementInfo, event: Mapping[str, Any]) -> dict[str, Any]:
    """Hints (the best unique locator), candidates (the rest, best first) and a fingerprint."""
    counts: Mapping[str, Sequence[int]] = event.get("counts") or {}
    unique: list[dict[str, Any]] = []
    shared: list[dict[str, Any]] = []
    named = [h for h in element.locators if "css" not in h and "xpath" not in h]
    for letter, hint in zip(element.hint_kinds, named, strict=False):
        count, nth = ([*list(counts.get(letter) or [1, 0]), 0])[:2]
        if count == 1:
            unique.append(hint)
        elif count > 1 and nth >= 0:
            shared.append({**hint, "nth": nth})
    unique.sort(key=lambda h: _ORDER.index(_letter(h)))
    structural = [h for h in element.locators if "css" in h or "xpath" in h]
    ranked = [*unique, *structural, *shared]
    hints: dict[str, Any] = dict(ranked[0])
    if element.frame:
        hints["frame"] = list(element.frame) if len(element.frame) > 1 else element.frame[0]
    if len(ranked) > 1:
        hints["candidates"] = [dict(h) for h in ranked[1:]]
    hints["fingerprint"] = _fingerprint(element, event)
    return hints


def _letter(hint: Mapping[str, Any]) -> str:
    for letter, key in zip(_ORDER, ("testid", "role", "label", "placeholder", "text"), strict=True):
        if key in hint:
            return letter
    return "z"


def _fingerprint(element: ElementInfo, event: Mapping[str, Any]) -> dict[str, Any]:
    extra: Mapping[str, Any] = event.get("extra") or {}
    row, group, heading = [*element.context, "", "", ""][:3]
    near = {
        "previous": extra.get("prev", ""),
        "next": extra.get("next", ""),
        "row": row,
        "group": group or extra.get("fieldset", ""),
        "heading": heading,
    }
    print_: dict[str, Any] = {
        "tag": element.tag,
        "role": element.role,
        "name": element.name,
        "text": element.text,
        "label": element.label,
        "attributes": dict(extra.get("attrs") or {}),
        "near": {k: v for k, v in near.items() if v},
        "position": {
            "box": list(element.box) if element.box else None,
            "index": extra.get("index", 0),
        },
        "frame": list(element.frame),
    }
    return {k: v for k, v in print_.items() if v not in ("", None, {}, [])}


def _same_field(previous: Mapping[str, Any], step: Mapping[str, Any]) -> bool:
    if "fill" not in previous or "fill" not in step:
        return False
    a, b = previous["fill"], step["fill"]
    return bool(
        a.get("fingerprint", {}).get("attributes") == b.get("fingerprint", {}).get("attributes")
        and {k: v for k, v in a.items() if k not in ("fingerprint",)}
        == {k: v for k, v in b.items() if k not in ("fingerprint",)}
    )


def _slug(text: str, limit: int = 24) -> str:
    words = re.findall(r"[A-Za-z0-9]+", text.lower())
    return "_".join(words)[:limit].strip("_")


def _base_id(step: Mapping[str, Any]) -> str:
    action = next(k for k in step if k not in ("value",))
    argument = step[action]
    if isinstance(argument, Mapping):
        fp = argument.get("fingerprint", {})
        words = fp.get("name") or fp.get("label") or fp.get("text") or fp.get("tag", "")
    elif action == "goto":
        words = urlsplit(str(argument).removeprefix(f"{APP_NAME}:")).path
    else:
        words = str(argument)
    slug = _slug(str(words))
    return f"{action}_{slug}" if slug else action


def _unique_id(wanted: str, taken: set[str]) -> str:
    candidate, n = wanted, 2
    while candidate in taken:
        candidate, n = f"{wanted}_{n}", n + 1
    taken.add(candidate)
    return candidate


def _secret_name(element: ElementInfo, event: Mapping[str, Any]) -> str:
    attrs: Mapping[str, Any] = (event.get("extra") or {}).get("attrs") or {}
    words = element.label or str(attrs.get("name") or attrs.get("id") or "password")
    name = re.sub(r"[^A-Za-z0-9]+", "_", words).strip("_").upper()
    return name if name and not name[0].isdigit() else f"SECRET_{name}"


def _literal_inputs(steps: list[dict[str, Any]]) -> dict[str, Any]:
    """Typed text holding ``{$`` cannot be written as a literal value (the plan would read a
    template): such a value becomes an input whose default is the text, which is never parsed."""
    inputs: dict[str, Any] = {}
    for step in steps:
        value = step.get("value")
        if "fill" in step and isinstance(value, str) and "{$" in value:
            name = f"{step['id']}_text"
            text = value[1:] if value.startswith("$$") else value
            inputs[name] = {"type": "string", "default": text}
            step["value"] = f"$inputs.{name}"
    return inputs


def _literal(value: str) -> str:
    """A typed value written so the plan reads it back as the same text, not an expression."""
    if value.startswith("$"):
        return "$" + value  # a leading $$ is a literal $
    return value


class _Dumper(yaml.SafeDumper):
    pass


def _str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


def _list(dumper: yaml.SafeDumper, value: list[Any]) -> yaml.SequenceNode:
    flow = bool(value) and all(isinstance(v, int | float) for v in value)
    return dumper.represent_sequence("tag:yaml.org,2002:seq", value, flow_style=flow)


_Dumper.add_representer(str, _str)
_Dumper.add_representer(list, _list)


def dump_plan(document: Mapping[str, Any]) -> str:
    """A plan document as YAML, keys in the order written."""
    return yaml.dump(dict(document), Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=100)


def write_recording(
    events: Sequence[Mapping[str, Any]],
    out: Path,
    *,
    start_url: str,
    name: str,
    params: Mapping[str, str] | None = None,
) -> Path:
    """Turn events into a plan, check it loads as one, and write it to ``out``.

    A parameter naming no typed field does not lose the recording: it is written without
    inputs, then a UsageError says so.
    """
    problem: UsageError | None = None
    try:
        document = events_to_plan(events, start_url=start_url, name=_plan_name(name), params=params)
    except UsageError as err:
        problem = err
        document = events_to_plan(events, start_url=start_url, name=_plan_name(name))
    text = dump_plan(document)
    parse_plan(text, name=str(out), base=out.parent)  # a recording must load as a plan
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text, encoding="utf-8")
    except OSError as err:
        raise RecordingError(
            f"cannot write the recording: {err.strerror or err}", file=str(out), code="unwritable"
        ) from err
    if problem is not None:
        raise UsageError(
            f"written without inputs: {problem.message}; add them with 'lam recording params'",
            file=str(out),
            code=problem.code,
        )
    return out


def _plan_name(name: str) -> str:
    return name or "recording"
