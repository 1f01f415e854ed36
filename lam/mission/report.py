"""``lam verify MISSION`` and ``lam report MISSION``: a mission record checked, and drawn as a
tree.

The tree is the mission's tasks in the order they ran, each with its attempts: who decided the
attempt (the supervisor, or the planner for a re-plan) and why, how it ended, the child's run
id, its record and the final hash the mission record holds for it, and what the supervisor
decided after it (retry, re-plan, hold, skip, stop). The verdict of :func:`verify_mission`
heads the page, with one line per linked run record. Everything shown is escaped: a task's
outputs are text a hostile server may have written.
"""

from __future__ import annotations

import html
import time
from collections import defaultdict
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from lam.mission.record import MissionVerdict, read_events, summary, verify_mission

__all__ = [
    "mission_report_command",
    "proposals",
    "render_mission_report",
    "tree_lines",
    "verify_command",
    "verify_here",
]

_STYLE = """
body{font:14px/1.45 system-ui,sans-serif;margin:2rem auto;max-width:1100px;color:#1d232b;padding:0 1rem}
h1{font-size:1.5rem;margin-bottom:.2rem} h2{font-size:1.15rem;margin-top:2rem}
.meta{color:#59636e} code,pre{font:12px/1.4 ui-monospace,monospace}
pre{background:#f6f8fa;padding:.5rem;overflow:auto;max-height:12rem;margin:.3rem 0}
.badge{display:inline-block;padding:0 .45rem;border-radius:.6rem;font-size:12px;font-weight:600}
.ok,.intact{background:#dff3e4;color:#14532d}
.held,.skipped,.blocked,.in-progress,.timeout{background:#fff3cd;color:#7a5200}
.failed,.killed,.broken,.invalid{background:#fde2e1;color:#8a1c1c}
.task{border:1px solid #dde3e9;border-radius:6px;padding:.6rem .9rem;margin:.8rem 0}
.attempt{border-left:3px solid #dde3e9;margin:.5rem 0 .5rem .4rem;padding-left:.7rem}
.decision{color:#59636e}
"""


def verify_here(directory: Path, *, pinned: Any = None) -> MissionVerdict:
    """A mission record on this machine, against the operator key and the ledger here."""
    from lam.evidence.keys import EvidenceError
    from lam.evidence.ledger import Ledger
    from lam.evidence.verify import Verdict, local_trust

    try:
        key = local_trust(pinned)
    except EvidenceError as exc:
        broken = Verdict(directory.name, str(directory), status="broken", problems=[exc.message])
        return MissionVerdict(broken)
    return verify_mission(directory, key=key, ledger=Ledger())


def verify_command(directory: Path, *, pinned: Any = None, as_json: bool = False) -> int:
    """``lam verify MISSION``: the mission's verdict and each linked run's; exit 0 or 1."""
    from lam.cli.common import print_json

    verdict = verify_here(directory, pinned=pinned)
    if as_json:
        print_json(verdict.to_json())
        return 0 if verdict.ok else 1
    print(f"{verdict.mission.run}: {verdict.mission.describe()}")
    for run in verdict.runs:
        print(f"  {run.run} ({'; '.join(run.notes)}): {run.describe()}")
    broken = sum(not r.ok for r in verdict.runs)
    print(f"mission record and {len(verdict.runs)} linked run record(s) checked, {broken} broken")
    return 0 if verdict.ok else 1


def mission_report_command(directory: Path, *, output: str | None, verify: bool) -> int:
    """``lam report MISSION [-o FILE] [--verify]``: the HTML page (default
    ``MISSION_DIR/report.html``), or with ``verify`` only the check; exit 0 or 1."""
    if verify:
        verdict = verify_here(directory)
        print(f"{directory.name}: {verdict.mission.describe()}")
        for run in verdict.runs:
            print(f"  {run.run}: {run.describe()}")
        return 0 if verdict.ok else 1
    page = Path(output) if output else directory / "report.html"
    page.write_text(render_mission_report(directory), encoding="utf-8")
    print(page)
    return 0


def _by_task(events: Sequence[Mapping[str, Any]]) -> dict[str, list[Mapping[str, Any]]]:
    grouped: dict[str, list[Mapping[str, Any]]] = defaultdict(list)
    for event in events:
        if event.get("task") is not None and event.get("type") in (
            "attempt", "result", "decision", "outputs",
        ):  # fmt: skip
            grouped[str(event["task"])].append(event)
    return grouped


def tree_lines(directory: Path) -> list[str]:
    """The mission as an indented text tree (tasks, attempts, decisions)."""
    events = read_events(directory)
    start = next((e for e in events if e.get("type") == "mission"), {})
    end = summary(events)
    lines = [f"mission {directory.name} {start.get('name', '')}: {end.get('status', 'unfinished')}"]
    grouped = _by_task(events)
    for task in [t.get("id") for t in start.get("tasks") or []]:
        status = (end.get("tasks") or {}).get(task, "?")
        lines.append(f"  {task}: {status}")
        for event in grouped.get(str(task), []):
            kind = event.get("type")
            if kind == "attempt":
                lines.append(
                    f"    attempt {event.get('attempt')} by {event.get('decided_by')}: "
                    f"{event.get('why')}"
                )
            elif kind == "result":
                for proposal in proposals(event):
                    steps = ", ".join(str(s.get("id")) for s in proposal.get("steps") or [])
                    lines.append(f"      agent proposed: {steps or 'nothing'}")
                run = event.get("run_id") or "no run record"
                lines.append(
                    f"      -> {event.get('status')} (exit {event.get('exit_code')}) {run}"
                )
            elif kind == "decision":
                lines.append(
                    f"    {event.get('by')} decided {event.get('action')}: {event.get('why')}"
                )
    return lines


def render_mission_report(directory: Path) -> str:
    """The HTML page of one mission record."""
    events = read_events(directory)
    verdict = verify_here(directory)
    start = next((e for e in events if e.get("type") == "mission"), {})
    end = summary(events)
    status = str(end.get("status", "unfinished"))
    when = ""
    if start.get("time"):
        stamp = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(float(start["time"])))
        when = f", started {stamp}"
    parts = [
        "<!doctype html><html lang=en><head><meta charset=utf-8>",
        f"<title>lam mission {_e(directory.name)}</title><style>{_STYLE}</style></head><body>",
        f"<h1>{_e(start.get('name', 'mission'))} {_badge(status)}</h1>",
        f"<p class=meta>mission <code>{_e(directory.name)}</code> of "
        f"<code>{_e(start.get('file', ''))}</code> (sha256 {_e(str(start.get('sha256'))[:16])})"
        f"{_e(when)}; exit {_e(end.get('exit_code', '-'))}"
        f"{'; dry run' if start.get('dry_run') else ''}</p>",
        f"<p><b>Integrity:</b> {_badge(verdict.mission.status)} {_e(verdict.mission.describe())}</p>",
    ]
    if verdict.runs:
        parts.append("<ul>")
        for run in verdict.runs:
            parts.append(
                f"<li>{_badge(run.status)} <code>{_e(run.run)}</code> "
                f"({_e('; '.join(run.notes))}): {_e(run.describe())}</li>"
            )
        parts.append("</ul>")
    if end.get("reason"):
        parts.append(f"<p><b>Stopped:</b> {_e(end['reason'])}</p>")
    order = start.get("order") or []
    parts.append(
        "<p class=meta>order: "
        + " then ".join("[" + ", ".join(_e(t) for t in layer) + "]" for layer in order)
        + "</p>"
    )
    grouped = _by_task(events)
    parts.append("<h2>Tasks</h2>")
    for task in start.get("tasks") or []:
        parts.append(_task(task, (end.get("tasks") or {}).get(task.get("id")), grouped))
    parts.append("</body></html>")
    return "\n".join(parts)


def _task(
    task: Mapping[str, Any], status: Any, grouped: Mapping[str, list[Mapping[str, Any]]]
) -> str:
    task_id = str(task.get("id"))
    depends = ", ".join(task.get("depends_on") or []) or "nothing"
    out = [
        f"<div class=task><b>{_e(task_id)}</b> {_badge(str(status or 'unfinished'))} "
        f"<span class=meta>{_e(task.get('kind'))} {_e(task.get('source') or '')}; "
        f"depends on {_e(depends)}; retries {_e(task.get('retries'))}</span>"
    ]
    for event in grouped.get(task_id, []):
        kind = event.get("type")
        if kind == "attempt":
            command = event.get("command") or {}
            out.append(
                f"<div class=attempt>attempt {_e(event.get('attempt'))} decided by "
                f"<b>{_e(event.get('decided_by'))}</b>: {_e(event.get('why'))}"
                f"<br><span class=meta>inputs</span><pre>{_e(command.get('inputs'))}</pre>"
                f"<span class=meta>approvals: {_e(command.get('approvals') or 'none')}</span>"
            )
            if command.get("goal"):
                out.append(f"<br><span class=meta>goal:</span> {_e(command['goal'])}")
            out.append("</div>")
        elif kind == "result":
            out.append(_proposals(event))
            out.append(
                f"<div class=attempt>{_badge(str(event.get('status')))} exit "
                f"{_e(event.get('exit_code'))}, run <code>{_e(event.get('run_id') or '-')}</code> "
                f"<span class=meta>{_e(event.get('record') or '')} final hash "
                f"{_e(str(event.get('final_hash') or '-')[:16])}</span>"
                + (f"<br>{_e(event['error'])}" if event.get("error") else "")
                + "</div>"
            )
        elif kind == "decision":
            out.append(
                f"<p class=decision>{_e(event.get('by'))} decided <b>{_e(event.get('action'))}</b>: "
                f"{_e(event.get('why'))}</p>"
            )
        elif kind == "outputs":
            out.append(f"<span class=meta>outputs</span><pre>{_e(event.get('outputs'))}</pre>")
    out.append("</div>")
    return "\n".join(out)


def proposals(result: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """What the attempt's agent proposed, from the run record the ``result`` links (a goal
    task's ``proposal`` events: the steps, how sure it was, what it noted)."""
    from lam.evidence.verify import trace_events

    record = result.get("record")
    if not record:
        return []
    trace = Path(str(record)) / "trace.jsonl"
    return [e for _, e in trace_events(trace) if e.get("type") == "proposal"]


def _proposals(result: Mapping[str, Any]) -> str:
    found = proposals(result)
    if not found:
        return ""
    rows = []
    for proposal in found:
        steps = ", ".join(str(s.get("id")) for s in proposal.get("steps") or [])
        notes = "; ".join(str(n) for n in [*proposal.get("notes", []), *proposal.get("unsure", [])])
        rows.append(
            f"<li>steps {_e(steps or 'none')} (confidence {_e(proposal.get('confidence'))})"
            + (f": {_e(notes)}" if notes else "")
            + "</li>"
        )
    return (
        "<div class=attempt><span class=meta>the agent proposed (from its run record):</span>"
        f"<ul>{''.join(rows)}</ul></div>"
    )


def _e(value: Any) -> str:
    return html.escape(str(value))


def _badge(value: str) -> str:
    return f"<span class='badge {_e(value)}'>{_e(value)}</span>"
