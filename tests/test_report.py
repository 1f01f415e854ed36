"""``lam report``: the HTML report renders in a real browser, screenshots show, tampering shows."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image

from lam.cli.main import main
from lam.report import render_report
from lam.run.record import RunRecord

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
