"""``lam report RUN``: one self-contained HTML page for a run or a dry run.

It shows when the run started and how long it took, each step with its risk and verdict (as the
guard decided them when it acted), resolved action or request, result, timing and screenshot
(embedded, so the file can be mailed or attached to a ticket; folded until opened), the plan as
YAML, the effects a dry run held, the guard's decisions, and the verdict of ``lam verify`` on
the record (signatures, files, ledger). A screenshot is embedded only from inside the run folder: a record naming any other
path (``..``, absolute, a symbolic link) gets a refusal in its place, never the file.
"""

from __future__ import annotations

import base64
import html
import json
import time
from collections import defaultdict
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml

from lam.errors import UsageError
from lam.evidence.paths import UnsafePath, resolve_in
from lam.evidence.verify import trace_events, verify_here
from lam.runtime.record import runs_root

__all__ = ["find_run", "render_report"]

_STYLE = """
body{font:14px/1.45 system-ui,sans-serif;margin:2rem auto;max-width:1100px;color:#1d232b;padding:0 1rem}
h1{font-size:1.5rem;margin-bottom:.2rem} h2{font-size:1.15rem;margin-top:2rem}
.meta{color:#59636e} table{border-collapse:collapse;width:100%;margin:.5rem 0}
td,th{border-bottom:1px solid #dde3e9;padding:.35rem .5rem;text-align:left;vertical-align:top}
th{background:#f3f5f7} code,pre{font:12px/1.4 ui-monospace,monospace}
pre{background:#f6f8fa;padding:.5rem;overflow:auto;max-height:16rem;margin:.3rem 0}
.badge{display:inline-block;padding:0 .45rem;border-radius:.6rem;font-size:12px;font-weight:600}
.ok,.allow,.read,.intact{background:#dff3e4;color:#14532d}
.write,.approve,.in-progress{background:#fff3cd;color:#7a5200}
.failed,.blocked,.killed,.deny,.destructive,.broken{background:#fde2e1;color:#8a1c1c}
.step{border:1px solid #dde3e9;border-radius:6px;padding:.6rem .9rem;margin:.8rem 0}
.step img{max-width:100%;border:1px solid #dde3e9;margin-top:.4rem}
.warn{color:#7a5200} details.shot summary{cursor:pointer;color:#59636e;margin-top:.3rem}
"""


def find_run(run: str, root: Path | None = None) -> Path:
    """A run's directory from its id, its path, or ``last``."""
    base = root or runs_root()
    candidate = Path(run)
    if candidate.is_dir() and (candidate / "trace.jsonl").exists():
        return candidate
    if run == "last":
        runs = sorted(p for p in base.glob("*") if (p / "trace.jsonl").exists())
        if runs:
            return runs[-1]
    elif (base / run / "trace.jsonl").exists():
        return base / run
    raise UsageError(f"no run {run!r} (looked in {base})", code="not-found")


def render_report(run_dir: Path) -> str:
    """The HTML report of one run directory."""
    trace = run_dir / "trace.jsonl"
    integrity = verify_here(run_dir)
    # what parses: a damaged line is named by the verdict, and the rest still shows
    events = [event for _, event in trace_events(trace)]
    by_type: dict[str, list[dict[str, Any]]] = defaultdict(list)
    by_step: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for event in events:
        by_type[str(event.get("type"))].append(event)
        if event.get("step"):
            by_step[str(event["step"])].append(event)
    plan = (by_type.get("plan") or [{}])[0]
    end = (by_type.get("end") or [{}])[-1]
    # a plan that grew while it ran (lam do) has one verdicts event per step added
    verdicts = {s["id"]: s for e in by_type.get("verdicts", []) for s in e.get("steps", [])}
    status = end.get("status", "unfinished")
    # a step's risk and verdict as the guard decided them when it acted, else as validated:
    # the summary, the step's section and "Guard decisions" then say the same
    verdicts = {k: _as_decided(v, by_step.get(k, [])) for k, v in verdicts.items()}
    parts = [
        "<!doctype html><html lang=en><head><meta charset=utf-8>",
        f"<title>lam run {_e(run_dir.name)}</title><style>{_STYLE}</style></head><body>",
        f"<h1>{_e(plan.get('name', 'run'))} <span class='badge {_e(status)}'>{_e(status)}</span></h1>",
        f"<p class=meta>{_e(plan.get('mode', ''))} run <code>{_e(run_dir.name)}</code> of "
        f"<code>{_e(plan.get('file', ''))}</code>{_e(_when(plan, end))}</p>",
        _integrity(integrity.status, integrity.describe()),
    ]
    if end.get("error"):
        parts.append(f"<p><b>Stopped:</b> {_e(end['error'])}</p>")
    parts.append(_steps_table(verdicts, by_step))
    parts.append("<h2>Steps</h2>")
    for step_id in verdicts:
        parts.append(_step_section(step_id, verdicts[step_id], by_step.get(step_id, []), run_dir))
    effects = end.get("effects")
    if effects is not None:
        parts.append(_effects(effects))
    parts.append(_guard(by_type.get("guard", [])))
    parts.append(_plan_source(plan))
    parts.append("</body></html>")
    return "\n".join(parts)


def _when(plan: Mapping[str, Any], end: Mapping[str, Any]) -> str:
    """``, started 2026-11-29 10:15:01 UTC, took 4.2 s`` from the record's first and last events."""
    started = plan.get("time")
    if not isinstance(started, int | float):
        return ""
    text = f", started {time.strftime('%Y-%m-%d %H:%M:%S UTC', time.gmtime(started))}"
    ended = end.get("time")
    if isinstance(ended, int | float):
        return f"{text}, took {_duration(ended - started)}"
    return f"{text}, unfinished"


def _duration(seconds: float) -> str:
    if seconds < 1:
        return f"{seconds * 1000:.0f} ms"
    if seconds < 120:
        return f"{seconds:.1f} s"
    return f"{int(seconds // 60)} min {seconds % 60:.0f} s"


def _as_decided(verdict: Mapping[str, Any], events: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """The validation's view of a step, with the risk and verdict of the guard's last decision
    on the step's own action (not on requests its page sent) when there is one."""
    own = [e for e in events if e.get("type") == "guard" and e.get("origin") in ("api", "ui")]
    if not own or not own[-1].get("risk"):
        return dict(verdict)
    decided = own[-1]
    shown = {**verdict, "risk": decided["risk"], "verdict": decided.get("verdict")}
    if decided["risk"] != verdict.get("risk"):
        shown["reasons"] = [
            *decided.get("reasons", []),
            f"validated as {verdict.get('risk') or 'unknown'} before the page was seen",
        ]
    return shown


def _e(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _badge(value: str | None) -> str:
    return f"<span class='badge {_e(value or '')}'>{_e(value or '—')}</span>"


def _integrity(status: str, text: str) -> str:
    return f"<p>Record: {_badge(status)} {_e(text)}</p>"


def _steps_table(verdicts: Mapping[str, Any], by_step: Mapping[str, list[dict[str, Any]]]) -> str:
    rows = []
    for step_id, verdict in verdicts.items():
        done = [e for e in by_step.get(step_id, []) if e["type"] == "step"]
        result = done[-1] if done else {}
        rows.append(
            "<tr>"
            f"<td><a href='#step-{_e(step_id)}'>{_e(step_id)}</a></td>"
            f"<td>{_e(verdict.get('kind'))}</td><td>{_e(verdict.get('operation') or '')}</td>"
            f"<td>{_badge(verdict.get('risk'))}</td><td>{_badge(verdict.get('verdict'))}</td>"
            f"<td>{_badge(result.get('status', 'not run'))}</td>"
            f"<td>{_e(_ms(result.get('seconds')))}</td></tr>"
        )
    head = "<tr><th>step</th><th>kind</th><th>operation / target</th><th>risk</th>"
    head += "<th>verdict</th><th>result</th><th>time</th></tr>"
    return f"<table>{head}{''.join(rows)}</table>"


def _ms(seconds: Any) -> str:
    return f"{float(seconds) * 1000:.0f} ms" if isinstance(seconds, int | float) else ""


def _step_section(
    step_id: str, verdict: Mapping[str, Any], events: Sequence[dict[str, Any]], run_dir: Path
) -> str:
    out = [f"<div class=step id='step-{_e(step_id)}'><b>{_e(step_id)}</b> "]
    out.append(f"{_badge(verdict.get('risk'))} {_badge(verdict.get('verdict'))}")
    reasons = "; ".join(verdict.get("reasons", []))
    if reasons:
        out.append(f"<div class=meta>why: {_e(reasons)}</div>")
    for event in events:
        kind = event.get("type")
        if kind == "request":
            out.append(
                f"<div><b>request</b> <code>{_e(event['method'])} {_e(event['url'])}</code></div>"
            )
            if event.get("body") is not None:
                out.append(f"<pre>{_e(json.dumps(event['body'], indent=2, default=str))}</pre>")
        elif kind == "response":
            out.append(
                f"<div><b>response</b> {_e(event['status'])} in {_e(_ms(event.get('seconds')))}</div>"
            )
            if event.get("body") is not None:
                out.append(
                    f"<pre>{_e(json.dumps(event['body'], indent=2, default=str)[:4000])}</pre>"
                )
        elif kind == "guard":
            out.append(
                f"<div><b>guard</b> {_e(event['action'])}: {_badge(event['verdict'])} "
                f"<span class=meta>{_e('; '.join(event.get('verdict_reasons', [])))}</span></div>"
            )
        elif kind == "step":
            out.append(
                f"<div><b>result</b> {_badge(event['status'])} {_e(event.get('summary', ''))}</div>"
            )
            if event.get("error"):
                out.append(f"<div class=warn>{_e(event['error'])}</div>")
            for warning in event.get("warnings") or []:
                out.append(f"<div class=warn>warning: {_e(warning)}</div>")
            if event.get("screenshot"):
                out.append(_image(run_dir, event["screenshot"], step_id))
    out.append("</div>")
    return "".join(out)


def _image(run_dir: Path, name: object, step_id: str) -> str:
    try:
        path = resolve_in(run_dir, name)
        data = base64.b64encode(path.read_bytes()).decode()
    except UnsafePath as exc:
        return f"<div class=warn>screenshot refused: {_e(exc.message)}</div>"
    except OSError:
        return f"<div class=warn>screenshot missing: {_e(name)}</div>"
    image = f"<img alt='screenshot after step {_e(step_id)}' src='data:image/png;base64,{data}'>"
    return f"<details class=shot><summary>screenshot</summary>{image}</details>"  # closed


def _effects(effects: Sequence[Mapping[str, Any]]) -> str:
    out = [f"<h2>Effects held in the sandbox ({len(effects)})</h2>"]
    if not effects:
        return out[0] + "<p>None: the plan changes nothing.</p>"
    out.append("<table><tr><th>step</th><th>method</th><th>url</th><th>body</th>")
    out.append("<th>risk</th><th>verdict</th><th>answered by</th></tr>")
    for effect in effects:
        body = json.dumps(effect.get("body"), default=str) if effect.get("body") is not None else ""
        out.append(
            f"<tr><td>{_e(effect['step'])}</td><td>{_e(effect['method'])}</td>"
            f"<td><code>{_e(effect['url'])}</code></td><td><code>{_e(body[:300])}</code></td>"
            f"<td>{_badge(effect['risk'])}</td><td>{_badge(effect['verdict'])}</td>"
            f"<td>{_e(effect.get('answered_by', ''))}</td></tr>"
        )
    out.append("</table>")
    return "".join(out)


def _guard(events: Sequence[Mapping[str, Any]]) -> str:
    out = [f"<h2>Guard decisions ({len(events)})</h2>"]
    if not events:
        return out[0] + "<p>None recorded.</p>"
    out.append("<table><tr><th>step</th><th>origin</th><th>action</th><th>risk</th>")
    out.append("<th>verdict</th><th>why</th></tr>")
    for e in events:
        out.append(
            f"<tr><td>{_e(e['step'])}</td><td>{_e(e['origin'])}</td><td><code>{_e(e['action'])}</code></td>"
            f"<td>{_badge(e['risk'])}</td><td>{_badge(e['verdict'])}</td>"
            f"<td>{_e('; '.join(e.get('verdict_reasons', [])))}</td></tr>"
        )
    out.append("</table>")
    return "".join(out)


def _plan_source(plan: Mapping[str, Any]) -> str:
    """The plan as its author wrote it: YAML, keys in their order."""
    document = yaml.safe_dump(
        plan.get("document", {}), sort_keys=False, allow_unicode=True, width=100
    )
    return f"<h2>Plan</h2><pre class=plan>{_e(document)}</pre>"
