"""A dry run's change plan, like ``terraform plan``: what each held write would do.

Each write a dry run held and the sandbox answered gets one entry: the resource, its state
before (read from live when ``--reads live`` and the policy allow it), the predicted state
after, a field-level diff, and how each state was obtained (:data:`lam.sandbox.overlay.Source`).
The entries ride on the held effects (``effects.json`` of the record, ``effects`` of
``--json``) under ``change``; :func:`counts` and :func:`summary` total them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any
from urllib.parse import unquote, urlsplit

from lam.json_pointer import escape
from lam.sandbox.overlay import Change

__all__ = ["attach", "change_json", "counts", "diff", "render", "summary"]

_MISSING = object()


def diff(before: Any, after: Any) -> list[dict[str, Any]]:
    """Field-level differences as ``{"field": JSON pointer, "before": .., "after": ..}``; a field
    that appears has no ``before``, one that goes has no ``after``."""
    out: list[dict[str, Any]] = []
    _diff(before, after, "", out)
    return out


def _diff(before: Any, after: Any, where: str, out: list[dict[str, Any]]) -> None:
    if isinstance(before, Mapping) and isinstance(after, Mapping):
        for key in list(before) + [k for k in after if k not in before]:
            part = escape(str(key))
            _diff(before.get(key, _MISSING), after.get(key, _MISSING), f"{where}/{part}", out)
        return
    if (before is _MISSING and after is _MISSING) or before == after:
        return
    entry: dict[str, Any] = {"field": where or "/"}
    if before is not _MISSING:
        entry["before"] = before
    if after is not _MISSING:
        entry["after"] = after
    out.append(entry)


def change_json(change: Change) -> dict[str, Any]:
    """One change as the record and ``--json`` carry it."""
    before = None if change.action == "create" else change.before
    return {
        "resource": change.resource,
        "action": change.action,
        "status": change.status,
        "before": before,
        "before_from": change.before_source,
        "after": change.after,
        "after_from": change.after_source,
        "diff": []
        if change.action in ("fails", "other")
        else diff(before or {}, change.after or {}),
    }


def attach(effects: Sequence[dict[str, Any]], changes: Iterable[Change]) -> list[dict[str, Any]]:
    """The effects with each simulated write's change under ``change``, matched in order by
    method and path (the sandbox answers them in the order they were held)."""
    pending = list(changes)
    out: list[dict[str, Any]] = []
    for effect in effects:
        effect = dict(effect)
        if effect.get("answered_by") == "simulator":
            path = unquote(urlsplit(str(effect.get("url", ""))).path)
            for index, change in enumerate(pending):
                if change.method == str(effect.get("method", "")).upper() and (
                    unquote(change.path) == path
                ):
                    effect["change"] = change_json(pending.pop(index))
                    break
        out.append(effect)
    return out


def counts(effects: Iterable[Mapping[str, Any]]) -> dict[str, int]:
    """How many held writes create, change, delete, or would fail; ``unpredicted``: writes held
    with no change lam could work out (a page's form answered without a spec's object)."""
    total = {"create": 0, "update": 0, "delete": 0, "fails": 0, "other": 0, "unpredicted": 0}
    for effect in effects:
        change = effect.get("change")
        if isinstance(change, Mapping) and change.get("action") in total:
            total[str(change["action"])] += 1
        elif not str(effect.get("answered_by", "")).startswith("live"):
            total["unpredicted"] += 1  # a sign-in sent live is no held write
    return total


def summary(total: Mapping[str, int]) -> str:
    """``Plan: 2 to create, 1 to change, 1 to delete`` (and the writes that would fail)."""
    line = (
        f"Plan: {total.get('create', 0)} to create, {total.get('update', 0)} to change, "
        f"{total.get('delete', 0)} to delete"
    )
    if total.get("fails"):
        line += f"; {total['fails']} write(s) would fail"
    if total.get("other"):
        line += f"; {total['other']} other write(s) (no object the spec describes)"
    if total.get("unpredicted"):
        line += f"; {total['unpredicted']} held write(s) whose effect lam cannot predict"
    return line


_MARK = {"create": "+", "update": "~", "delete": "-", "fails": "!", "other": "*"}


def render(effects: Iterable[Mapping[str, Any]], *, width: int = 60) -> list[str]:
    """The change plan as lines for a terminal."""
    lines: list[str] = []
    for effect in effects:
        change = effect.get("change")
        if not isinstance(change, Mapping):
            continue
        action = str(change["action"])
        what = change.get("resource") or effect.get("url")
        head = f"  {_MARK.get(action, '?')} {what}: {action} (step {effect.get('step')}"
        head += f", {effect.get('method')} -> {change.get('status')})"
        lines.append(head)
        if action == "other":
            lines.append(f"      answered from {change.get('after_from')}: not a resource change")
            continue
        if action == "fails":
            lines.append(
                f"      before ({change.get('before_from')}): {_short(change.get('before'), width)}"
            )
            continue
        if action != "create":
            lines.append(f"      before from {change.get('before_from')}")
        lines.append(f"      after from {change.get('after_from')}")
        for entry in change.get("diff") or ():
            old = _short(entry["before"], width) if "before" in entry else "(none)"
            new = _short(entry["after"], width) if "after" in entry else "(none)"
            lines.append(f"      {entry['field']}: {old} -> {new}")
    return lines


def _short(value: Any, width: int) -> str:
    text = repr(value)
    return text if len(text) <= width else text[: width - 3] + "..."
