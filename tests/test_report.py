"""``lam report``: the HTML report renders in a real browser, screenshots show, tampering shows."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image

from lam.cli.main import main
from lam.report import render_report
from lam.runtime.record import RunRecord

pytestmark = pytest.mark.browser


def make_run(root: Path) -> Path:
    record = RunRecord.create(root)
    shot = record.screenshots / "001-open.png"
    Image.new("RGB", (120, 80), (200, 30, 30)).save(shot)
    record.attach(shot)  # a file the record names is hashed into it
    record.event("plan", name="demo <plan>", file="plan.yaml", mode="dry-run", document={"lam": 1})
    record.event(
        "verdicts",
        steps=[
            {"id": "open", "kind": "ui", "operation": "shop:/pets", "risk": "read",
             "reasons": ["goto reads"], "verdict": "allow"},
            {"id": "remove", "kind": "api", "operation": "shop.deletePet", "risk": "destructive",
             "reasons": ["DELETE method"], "verdict": "approve"},
        ],
    )  # fmt: skip
    record.event("step", step="open", status="ok", summary="goto /pets", seconds=0.2,
                 screenshot="screenshots/001-open.png")  # fmt: skip
    record.event("request", step="remove", method="DELETE", url="http://127.0.0.1/api/pets/1",
                 body=None)  # fmt: skip
    record.event("step", step="remove", status="ok", summary="DELETE -> 204", seconds=0.01)
    record.event(
        "end", status="ok", error=None, exit_code=0,
        effects=[{"step": "remove", "method": "DELETE", "url": "http://127.0.0.1/api/pets/1",
                  "body": None, "risk": "destructive", "verdict": "approve",
                  "answered_by": "simulator"}],
    )  # fmt: skip
    record.close()
    return record.directory


@pytest.fixture(scope="module")
def page() -> Iterator[object]:
    from lam.adapters.browser import BrowserSession

    with BrowserSession() as session:
        yield session.page


def test_report_renders_with_its_screenshots(
    tmp_path: Path, page: object, capsys: pytest.CaptureFixture[str]
) -> None:
    run_dir = make_run(tmp_path / "runs")
    assert main(["report", str(run_dir)]) == 0
    out = Path(capsys.readouterr().out.strip())
    assert out == run_dir / "report.html"
    page.goto(out.as_uri())  # type: ignore[attr-defined]
    assert page.title() == f"lam run {run_dir.name}"  # type: ignore[attr-defined]
    text = page.locator("body").inner_text()  # type: ignore[attr-defined]
    assert "demo <plan>" in text  # escaped, shown as text
    assert "intact: 7 events" in text
    assert "Effects held in the sandbox (1)" in text
    widths = page.eval_on_selector_all("img", "imgs => imgs.map(i => i.naturalWidth)")  # type: ignore[attr-defined]
    assert widths == [120]


def test_report_shows_a_tampered_trace(tmp_path: Path) -> None:
    run_dir = make_run(tmp_path / "runs")
    trace = run_dir / "trace.jsonl"
    lines = trace.read_text().splitlines()
    event = json.loads(lines[3])
    event["summary"] = "nothing happened"
    lines[3] = json.dumps(event)
    trace.write_text("\n".join(lines) + "\n")
    html = render_report(run_dir)
    assert "broken" in html and "line 4 was changed" in html
    assert main(["report", str(run_dir), "--verify"]) == 1


def test_report_of_an_unknown_run_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["report", "no-such-run"]) == 2
    assert "no run 'no-such-run'" in capsys.readouterr().err


def test_report_agrees_with_itself_and_reads_like_a_test_report(
    tmp_path: Path, page: object
) -> None:
    """A click validated as a write that the guard, seeing the element, judged destructive: the
    summary, the step and "Guard decisions" all say destructive. Screenshots are folded until
    opened; the run's start and duration show; the plan shows as the YAML its author wrote."""
    record = RunRecord.create(tmp_path / "runs")
    shot = record.screenshots / "001-remove.png"
    Image.new("RGB", (64, 48), (20, 120, 200)).save(shot)
    record.attach(shot)
    document = {"lam": 1, "name": "tidy", "steps": [{"id": "remove", "click": {"text": "Remove"}}]}
    record.event("plan", name="tidy", file="plan.yaml", mode="live", document=document)
    record.event("verdicts", steps=[
        {"id": "remove", "kind": "ui", "operation": "text=Remove", "risk": "write",
         "reasons": ["click on an element not yet known"], "verdict": "allow"},
    ])  # fmt: skip
    record.event("guard", step="remove", origin="request", action="GET /favicon.ico",
                 risk="read", reasons=[], verdict="allow", verdict_reasons=[], detail={})  # fmt: skip
    record.event("guard", step="remove", origin="ui", action="click 'Remove'",
                 risk="destructive", reasons=["'Remove' says 'remove'"], verdict="approve",
                 verdict_reasons=["approved at the prompt"], detail={})  # fmt: skip
    record.event("step", step="remove", status="ok", summary="click 'Remove' (412 ms)",
                 seconds=0.412, screenshot="screenshots/001-remove.png")  # fmt: skip
    record.event("end", status="ok", error=None, exit_code=0, effects=None)
    record.close()
    html = render_report(record.directory)
    summary = html.split("<h2>Steps</h2>")[0]
    section = html.split("<h2>Steps</h2>")[1].split("<h2>")[0]
    decisions = html.split("<h2>Guard decisions")[1].split("<h2>")[0]
    assert "badge destructive" in summary and "badge write" not in summary
    assert "badge destructive" in section and "validated as write" in section
    assert decisions.count("badge destructive") == 1
    assert "lam: 1\nname: tidy\nsteps:\n- id: remove\n  click:\n    text: Remove\n" in html
    assert re.search(r"started \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC, took \d+ ms", html)
    out = record.directory / "report.html"
    out.write_text(html, encoding="utf-8")
    page.goto(out.as_uri())  # type: ignore[attr-defined]
    image = page.locator("img")  # type: ignore[attr-defined]
    assert not image.is_visible()  # folded
    page.get_by_text("screenshot", exact=True).click()  # type: ignore[attr-defined]
    assert image.is_visible()
