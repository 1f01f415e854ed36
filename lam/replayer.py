"""Replaying recordings: run a recording like any plan, report what healed, write it back.

A recording is a plan whose UI targets carry ``candidates`` and a ``fingerprint``. Running it
goes through :func:`lam.runtime.start.execute_plan` (validation, guard, approvals, dry run: all
as for any plan). A target whose locators no longer find it is healed by fingerprint
similarity (:mod:`lam.adapters.browser.healing`), or refused. Each healed step is reported as
a reviewable diff of its hints, old and new; :func:`update_recording` writes the new hints
back into the file, keeping the old best locator as the first candidate and every other byte
of the file outside the healed targets as it was.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from lam.errors import PlanError
from lam.runtime.record import read_trace
from lam.runtime.runner import RunResult
from lam.runtime.start import RunOptions, execute_plan
from lam.validation import ValidationReport

__all__ = [
    "HealedStep",
    "ReplayResult",
    "healed_steps",
    "main_hints",
    "render_diff",
    "replay",
    "update_recording",
    "updated_target",
]

_EXTRA_KEYS = ("candidates", "fingerprint")


@dataclass(frozen=True)
class HealedStep:
    """One step whose target was found again by its fingerprint, with old and new hints."""

    step: str
    action: str
    old: Mapping[str, Any]
    new: Mapping[str, Any]
    score: float
    runner_up: float | None = None
    looks: Mapping[str, Any] = field(default_factory=dict)  # the healed element: name, role...

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready mapping (for ``--json``)."""
        return {
            "step": self.step,
            "action": self.action,
            "old": dict(self.old),
            "new": dict(self.new),
            "score": round(self.score, 4),
            "runner_up": None if self.runner_up is None else round(self.runner_up, 4),
        }


@dataclass(frozen=True)
class ReplayResult:
    """What a replay did: the validation report, the run (None if invalid), healed steps,
    and the file written back (None unless asked and something healed)."""

    report: ValidationReport
    run: RunResult | None
    healed: tuple[HealedStep, ...] = ()
    updated: Path | None = None


def main_hints(target: Mapping[str, Any]) -> dict[str, Any]:
    """A target's own locator hints, without its candidates and fingerprint."""
    return {k: v for k, v in target.items() if k not in _EXTRA_KEYS}


def healed_steps(
    trace: Path, targets: Mapping[str, tuple[str, Mapping[str, Any]]]
) -> list[HealedStep]:
    """The healed steps of a run, from its trace.

    ``targets`` maps step id to (action, the target as the recording has it).
    """
    found: list[HealedStep] = []
    for event in read_trace(trace):
        if event.get("type") != "step" or event.get("status") != "ok":
            continue
        element = (event.get("detail") or {}).get("element") or {}
        step_id = str(event.get("step"))
        if element.get("how") != "healed" or step_id not in targets:
            continue
        action, target = targets[step_id]
        found.append(
            HealedStep(
                step_id, action, main_hints(target), dict(element.get("hints") or {}),
                float(element.get("score") or 0.0), element.get("runner_up"),
                {k: element[k] for k in ("name", "role", "tag", "box") if element.get(k)},
            )
        )  # fmt: skip
    return found


def _show(hints: Mapping[str, Any]) -> str:
    return ", ".join(f"{k}: {json.dumps(v, ensure_ascii=False)}" for k, v in hints.items())


def render_diff(healed: Sequence[HealedStep]) -> str:
    """The healed locators as a reviewable diff: one ``-`` old and ``+`` new line per step."""
    if not healed:
        return "no target needed healing"
    lines = []
    for item in healed:
        runner = "" if item.runner_up is None else f", runner-up {item.runner_up:.2f}"
        lines.append(f"step {item.step} ({item.action}; healed, score {item.score:.2f}{runner})")
        lines.append(f"  - {_show(item.old)}")
        lines.append(f"  + {_show(item.new)}")
    return "\n".join(lines)


def updated_target(
    target: Mapping[str, Any], new: Mapping[str, Any], looks: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """The target with ``new`` as its hints; the old hints become the first candidate.

    The fingerprint keeps what it recorded, with the healed element's name, role, tag and box
    (``looks``) in place of the old ones, so the next replay checks against the page as it is.
    """
    old = main_hints(target)
    frame = old.pop("frame", None)
    new_hints = dict(new)
    if frame is not None:
        new_hints.setdefault("frame", frame)
    candidates: list[dict[str, Any]] = []
    keyed = {k: v for k, v in new_hints.items() if k not in ("frame", "exact")}
    for candidate in [old, *(target.get("candidates") or ())]:
        plain = {k: v for k, v in dict(candidate).items() if k != "exact"}
        if plain and plain != keyed and dict(candidate) not in candidates:
            candidates.append(dict(candidate))
    result: dict[str, Any] = dict(new_hints)
    if candidates:
        result["candidates"] = candidates
    if isinstance(target.get("fingerprint"), Mapping):
        fingerprint = dict(target["fingerprint"])
        seen = looks or {}
        for key in ("name", "role", "tag"):
            if seen.get(key):
                fingerprint[key] = seen[key]
        if seen.get("box"):
            position = dict(fingerprint.get("position") or {})
            position["box"] = [round(float(v), 1) for v in seen["box"]]
            fingerprint["position"] = position
        result["fingerprint"] = fingerprint
    return result


def update_recording(path: Path, healed: Sequence[HealedStep]) -> Path:
    """Write healed hints back into the recording at ``path``; the rest stays as written.

    Only the text of each healed target mapping is replaced (comments inside it are lost);
    everything else in the file keeps its bytes.
    """
    text = path.read_text(encoding="utf-8")
    root = yaml.compose(text)
    if root is None:
        raise PlanError("the recording is empty", file=str(path))
    spans: list[tuple[int, int, str]] = []
    by_id = {item.step: item for item in healed}
    steps = _value(root, "steps")
    if steps is None or not isinstance(steps, yaml.SequenceNode):
        raise PlanError("the recording has no steps list", file=str(path), location="steps")
    for index, node in enumerate(steps.value):
        step_id = _value(node, "id")
        if not isinstance(step_id, yaml.ScalarNode) or step_id.value not in by_id:
            continue
        item = by_id[step_id.value]
        target_node = _value(node, item.action)
        if not isinstance(target_node, yaml.MappingNode):
            raise PlanError(
                f"step {item.step}: the target is not a mapping", file=str(path),
                location=f"steps[{index}].{item.action}",
            )  # fmt: skip
        target = yaml.safe_load(yaml.serialize(target_node))
        spans.append(_replacement(text, target_node, updated_target(target, item.new, item.looks)))
    for start, end, replacement in sorted(spans, reverse=True):
        text = text[:start] + replacement + text[end:]
    path.write_text(text, encoding="utf-8")
    return path


def _value(node: yaml.Node, key: str) -> yaml.Node | None:
    if not isinstance(node, yaml.MappingNode):
        return None
    for k, v in node.value:
        if isinstance(k, yaml.ScalarNode) and k.value == key:
            found: yaml.Node = v
            return found
    return None


def _end(node: yaml.Node) -> int:
    """Where a node's own text ends (a block collection ends with its last value)."""
    if isinstance(node, yaml.MappingNode) and not node.flow_style and node.value:
        return _end(node.value[-1][1])
    if isinstance(node, yaml.SequenceNode) and not node.flow_style and node.value:
        return _end(node.value[-1])
    return int(node.end_mark.index)


def _replacement(
    text: str, node: yaml.MappingNode, value: Mapping[str, Any]
) -> tuple[int, int, str]:
    start, end = int(node.start_mark.index), _end(node)
    if node.flow_style:
        return start, end, json.dumps(value, ensure_ascii=False)
    from lam.recording.writer import dump_plan

    lines = dump_plan(value).rstrip("\n").split("\n")
    indent = " " * int(node.start_mark.column)
    return start, end, ("\n" + indent).join(lines)


def replay(path: Path, options: RunOptions, *, update: bool = False) -> ReplayResult:
    """Run the recording at ``path`` under ``options``; collect healed steps; maybe update.

    With ``update`` the healed hints of steps that ran are written back into ``path``.
    """
    report, run = execute_plan(path, options)
    if run is None or report.plan is None:
        return ReplayResult(report, run)
    targets = {
        step.id: (step.action, step.target)
        for step in report.plan.steps
        if step.kind == "ui" and step.target is not None
    }
    healed = tuple(healed_steps(Path(run.directory) / "trace.jsonl", targets))
    written = update_recording(path, healed) if update and healed else None
    return ReplayResult(report, run, healed, written)
